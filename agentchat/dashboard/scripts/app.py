"""The dashboard's Streamlit entry script, as installed: `agentchat dashboard` runs this file."""

from agentchat.dashboard.navigation import run

run(
    diagnostics_script="diagnostics.py",
    leaderboard_script="leaderboard.py",
    history_script="history.py",
    agent_script="agent.py",
)
