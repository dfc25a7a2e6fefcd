"""The Leaderboard page: the agents' books ranked, their equity curves and one agent's trades.

The page follows the chat's rule (`redraw`): while the feed is live the board is a fragment rerun
when a message arrives (and every few seconds, so the countdown moves), and what did not change is
not redrawn; while the feed polls, the page reruns every poll interval. The books are `hub_cache`'s
reads, shared with the live page's line of standings and read again only when a round arrives. The
rows, the round, the countdown and the curves are `standings`, pure functions; names are escaped
Markdown in the agent's colour, message text goes through a dataframe, as text.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Final

import altair as alt
import streamlit as st

from agentchat.agents import Agent
from agentchat.dashboard import hub_cache, redraw
from agentchat.dashboard.agent_figures import agent_link
from agentchat.dashboard.formatting import colored, escape_markdown
from agentchat.dashboard.session import Dashboard, current
from agentchat.dashboard.standings import (
    Standing,
    equity_rows,
    next_round_text,
    pct,
    round_status,
    signed_money,
    standings,
    trade_rows,
    whole_money,
)
from agentchat.errors import AgentchatError

__all__ = ["COLUMNS", "draw_page", "leaderboard_page"]

COLUMNS: Final = (
    ("#", 0.4),
    ("Agent", 2.0),
    ("Equity", 1.2),
    ("Return", 0.9),
    ("Realized", 1.0),
    ("Unrealized", 1.0),
    ("Win rate", 1.0),
    ("Max drawdown", 1.0),
    ("Open positions", 2.6),
)
_TRADES_AGENT_KEY = "leaderboard_agent"


def draw_page(dashboard: Dashboard) -> None:
    """The Leaderboard: standings, equity curves, one agent's trades; redrawn as rounds arrive."""
    st.title("Leaderboard")
    redraw.live_fragment(dashboard, _board, "leaderboard_autorefresh")


def _board(dashboard: Dashboard) -> None:
    marker = hub_cache.round_marker(dashboard.feed)
    hub_url = dashboard.settings.hub_url
    try:
        performance = hub_cache.performance(hub_url, marker)
    except AgentchatError as error:
        st.error(f"The books cannot be read: {escape_markdown(error.detail)}")
        return
    complete, status = round_status(performance, dashboard.roster)
    when = next_round_text(dashboard.settings.schedule_minutes, datetime.now(UTC))
    as_of = escape_markdown(str(performance.get("as_of", "")))
    (st.success if complete else st.info)(f"{escape_markdown(status)} · {escape_markdown(when)} · as of {as_of}")
    rows = standings(performance, dashboard.roster)
    _table(rows)
    st.subheader("Equity")
    _curves(hub_url, [row.agent for row in rows], marker)
    st.subheader("Trades")
    _trades(dashboard, [row.agent for row in rows])


def _table(rows: Sequence[Standing]) -> None:
    widths = [width for _, width in COLUMNS]
    for cell, (title, _) in zip(st.columns(widths), COLUMNS, strict=True):
        cell.markdown(f"**{escape_markdown(title)}**")
    for row in rows:
        with st.container(key=f"standing-{row.agent.id}"):
            values = (
                escape_markdown(str(row.rank)),
                f"**{colored('●', row.agent.color)} [{colored(row.agent.name, row.agent.color)}]"
                f"({agent_link(row.agent.id)})**",  # the agent's page
                escape_markdown(whole_money(row.equity)),
                escape_markdown(pct(row.return_pct)),
                escape_markdown(signed_money(row.realized_pnl)),
                escape_markdown(signed_money(row.unrealized_pnl)),
                escape_markdown(row.win_rate_text),
                escape_markdown(pct(-row.max_drawdown_pct) if row.max_drawdown_pct else "0.00%"),
                escape_markdown(row.positions or "flat"),
            )
            for cell, value in zip(st.columns(widths), values, strict=True):
                cell.markdown(value)


def _curves(hub_url: str, agents: Sequence[Agent], marker: int | None) -> None:
    try:
        curves = {agent.id: hub_cache.equity(hub_url, agent.id, marker) for agent in agents}
    except AgentchatError as error:
        st.error(f"The equity curves cannot be read: {escape_markdown(error.detail)}")
        return
    rows = equity_rows(curves, agents)
    if not rows:
        st.caption("Equity curves appear after the first round.")
        return
    colors = alt.Scale(domain=[agent.name for agent in agents], range=[agent.color for agent in agents])
    chart = (
        alt.Chart(alt.InlineData(values=rows), height=320)
        .mark_line(interpolate="step-after")
        .encode(
            x=alt.X("round:Q", title="round", axis=alt.Axis(tickMinStep=1, format="d")),
            y=alt.Y("equity:Q", title="equity", scale=alt.Scale(zero=False), axis=alt.Axis(format=",.0f")),
            color=alt.Color("agent:N", scale=colors, legend=alt.Legend(orient="bottom", title=None)),
            tooltip=["agent:N", "round:Q", alt.Tooltip("equity:Q", format=",.2f")],
        )
    )
    st.altair_chart(chart, width="stretch")


def _trades(dashboard: Dashboard, agents: Sequence[Agent]) -> None:
    if not agents:
        return
    names = {agent.id: agent.name for agent in agents}
    agent_id = st.selectbox("Agent", list(names), format_func=lambda key: names[key], key=_TRADES_AGENT_KEY)
    rows = trade_rows(dashboard.feed.snapshot().messages, str(agent_id))
    kept = dashboard.settings.max_per_agent
    if not rows:
        st.caption(
            f"No trade among the latest {kept} messages of {escape_markdown(names[str(agent_id)])} on this page."
        )
        return
    st.caption(f"Trades announced in the latest {kept} messages of each agent this page holds, newest first.")
    st.dataframe(rows, hide_index=True, width="stretch")


def leaderboard_page() -> None:
    """The page script's entry: this run's dashboard (sidebar and feed), then the Leaderboard."""
    draw_page(current())
