"""The Diagnostics page of the installed dashboard: the feed's state, the hub's health, the connection test."""

from agentchat.dashboard.diagnostics_page import diagnostics_page

diagnostics_page()
