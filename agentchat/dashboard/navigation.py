"""The dashboard's pages, listed once for both entry scripts.

Two scripts start the same dashboard: `scripts/app.py`, installed with the package (what
`agentchat dashboard` and `agentchat run` serve), and the checkout's `app.py` (`streamlit run app.py`).
Each passes its own page files (Leaderboard, Diagnostics, History, agent), because Streamlit resolves
a page file relative to the entry script, and `AppTest.switch_page` reaches only pages that are files.
The live page is a function; its url is the root.
"""

from __future__ import annotations

import streamlit as st

from agentchat.dashboard.agent_figures import AGENT_PAGE_PATH
from agentchat.dashboard.live_page import live_page
from agentchat.dashboard.session import start

__all__ = ["run"]


def run(
    diagnostics_script: str, leaderboard_script: str, history_script: str | None = None, agent_script: str | None = None
) -> None:
    """The sidebar and this session's feed (shared by every page), then the page the operator chose."""
    start()
    pages = [
        st.Page(live_page, title="Live chat", icon="💬", default=True),
        st.Page(leaderboard_script, title="Leaderboard", icon="🏆", url_path="leaderboard"),
        st.Page(diagnostics_script, title="Diagnostics", icon="🩺", url_path="diagnostics"),
    ]
    if history_script:
        pages.append(st.Page(history_script, title="History", icon="🗂️", url_path="history"))
    if agent_script:
        pages.append(st.Page(agent_script, title="Agent", icon="👤", url_path=AGENT_PAGE_PATH))
    st.navigation(pages).run()
