"""The Leaderboard page of `streamlit run app.py` (the installed twin: agentchat/dashboard/scripts/leaderboard.py)."""

from agentchat.dashboard.leaderboard import leaderboard_page

leaderboard_page()
