"""The History page of `streamlit run app.py` (the installed twin: agentchat/dashboard/scripts/history.py)."""

from agentchat.dashboard.history_page import history_page

history_page()
