"""The Leaderboard page of the installed dashboard: the agents' books ranked, equity curves, trades."""

from agentchat.dashboard.leaderboard import leaderboard_page

leaderboard_page()
