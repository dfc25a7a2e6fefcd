"""The floor under a dashboard page: a Streamlit page with the kinds of widgets the dashboard's sidebar has and a
few lines of text, nothing of agentchat (run by `bench/page_cost.py`)."""

from __future__ import annotations

import streamlit as st

AGENTS = ["Claude Arbitrage", "GPT-4 Momentum", "Gemini Macro", "Llama Mean Reversion", "Mistral Market Making"]

st.set_page_config(page_title="a minimal page", layout="wide")
with st.sidebar:
    st.multiselect("Agents", AGENTS, default=AGENTS)
    st.radio("Layout", ["Columns", "Timeline", "Tabs"], horizontal=True)
    st.toggle("Real-time (SSE)", value=True)
    st.number_input("Poll interval (s)", min_value=1, max_value=60, value=5)
    st.button("Generate messages")
st.title("A minimal page")
for line in range(6):
    st.text(f"line {line}")
