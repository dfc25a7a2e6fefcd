"""An agent's page of the installed dashboard: its thread, positions, trades, equity and risk figures."""

from agentchat.dashboard.agent_page import agent_page

agent_page()
