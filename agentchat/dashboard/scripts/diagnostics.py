"""The Diagnostics page of the installed dashboard: the feed's state, the hub's health, the connection test."""

from agentchat.dashboard import diagnostics_page

diagnostics_page()
