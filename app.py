"""The operator's dashboard from a checkout: `streamlit run app.py` (`agentchat dashboard` serves the same pages)."""

from agentchat.dashboard.navigation import run

run(
    diagnostics_script="pages/1_Diagnostics.py",
    leaderboard_script="pages/2_Leaderboard.py",
    history_script="pages/3_History.py",
    agent_script="pages/4_Agent.py",
)
