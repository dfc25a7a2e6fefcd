"""The Streamlit dashboard.

- `navigation`: the list of pages, run by the entry scripts; `session`: what every page of a run
  draws from (settings, the viewer, the sidebar and its Generate button, the session's feed).
- The pages, each importing `session` and the shared parts, never another page: `live_page` (the
  chat, its figures and a line of standings), `leaderboard`, `diagnostics_page`, `history_page`,
  `agent_page`.
- Shared parts: `feed` (each session's live feed and its lifecycle), `redraw` (when a page's live
  area is redrawn) over `wakeup` (the browser element that wakes it), `board` (the live chat
  element), `access` (who may see the dashboard and who may act), `hub_api` and `history_api` (the
  one-off requests to the hub), `hub_cache` (the reads several pages share, cached).
- Pure functions, tested without Streamlit: `formatting` (what a value looks like on screen),
  `standings` (the Leaderboard's rows, round and curves), `agent_figures` (the History and agent
  pages' rows and figures).

`scripts/` holds the files Streamlit runs, installed with the package: `app.py` (what `agentchat
dashboard` serves), its page files and its `.streamlit/config.toml`. The checkout's `app.py` and
`pages/` are a second, equal entry point for `streamlit run app.py`.

The package itself imports nothing, so importing any one module loads only what it needs.
"""

from __future__ import annotations

__all__: list[str] = []
