"""An agent's page of `streamlit run app.py` (the installed twin: agentchat/dashboard/scripts/agent.py)."""

from agentchat.dashboard.agent_page import agent_page

agent_page()
