"""The Diagnostics page of `streamlit run app.py` (the installed twin: agentchat/dashboard/scripts/diagnostics.py)."""

from agentchat.dashboard.diagnostics_page import diagnostics_page

diagnostics_page()
