"""The History page of the installed dashboard: every message kept, filtered, searched, paged, exported."""

from agentchat.dashboard.history_page import history_page

history_page()
