"""The Streamlit dashboard: `feed` (each session's live feed and its lifecycle), `hub_api` (the few
one-off requests to the hub), `formatting` (pure functions: what a value looks like on screen),
`views` (the sidebar and the pages). `app.py` and `pages/` call in here.
"""

from __future__ import annotations

from agentchat.dashboard.views import diagnostics_page, live_page, start

__all__ = ["diagnostics_page", "live_page", "start"]
