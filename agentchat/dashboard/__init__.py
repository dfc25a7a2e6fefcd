"""The Streamlit dashboard: `feed` (each session's live feed and its lifecycle), `hub_api` (the few
one-off requests to the hub), `formatting` (pure functions: what a value looks like on screen),
`session` (the sidebar and the pages), `leaderboard` (the Leaderboard page and the live page's compact
standings) over `standings` (pure: what they show), `navigation` (the list of pages), `access` (who may see the
dashboard and who may act: Streamlit's login and the operators' allow-list).

`scripts/` holds the files Streamlit runs, installed with the package: `app.py` (what `agentchat
dashboard` serves), its Diagnostics and Leaderboard pages and its `.streamlit/config.toml`. The checkout's `app.py`
and `pages/` are a second, equal entry point for `streamlit run app.py`.
"""

from __future__ import annotations

from agentchat.dashboard.session import diagnostics_page, leaderboard_page, live_page, start

__all__ = ["diagnostics_page", "leaderboard_page", "live_page", "start"]
