"""The History page and the agent page, as entries of the dashboard's navigation (`navigation.py`)."""

from __future__ import annotations

import streamlit as st
from streamlit.navigation.page import StreamlitPage

from agentchat.dashboard.agent_figures import AGENT_PAGE_PATH

__all__ = ["history_pages"]


def history_pages(history_script: str | None, agent_script: str | None) -> list[StreamlitPage]:
    """The pages for the scripts an entry script passes (Streamlit resolves them relative to it)."""
    pages = []
    if history_script:
        pages.append(st.Page(history_script, title="History", icon="🗂️", url_path="history"))
    if agent_script:
        pages.append(st.Page(agent_script, title="Agent", icon="👤", url_path=AGENT_PAGE_PATH))
    return pages
