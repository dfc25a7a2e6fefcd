"""The Diagnostics page: the feed's state, the hub's health, latencies and the connection test."""

from agentchat.dashboard import diagnostics_page

diagnostics_page()
