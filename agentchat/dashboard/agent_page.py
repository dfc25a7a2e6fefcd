"""An agent's page (`/agent?agent=<id>`): its thread, open positions, trades, equity over time, risk figures.

Everything comes from the hub: the thread and the trades from history (`GET /api/chat/history`,
so a trade announced long before the live window still shows the message that announced it), the
book from `GET /api/agents/performance`, the equity from `GET /api/agents/{id}/equity`, drawn on
a time axis with the drawdown under it. The figures are `agent_figures`, pure functions. Any
agent name in a History table links here; the picker on the page moves between agents.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import altair as alt
import streamlit as st

from agentchat.agents import Agent
from agentchat.dashboard.agent_figures import RiskFigures, equity_series, message_rows, risk_figures
from agentchat.dashboard.formatting import colored, escape_markdown
from agentchat.dashboard.history_api import read_history_page
from agentchat.dashboard.hub_api import HubApi
from agentchat.dashboard.session import Dashboard, current
from agentchat.dashboard.standings import pct, signed_money, whole_money
from agentchat.errors import AgentchatError
from agentchat.history import SIDES, HistoryFilter

__all__ = ["THREAD_SIZE", "TRADES_SIZE", "agent_page", "draw_page"]

THREAD_SIZE: Final = 30  # the agent's latest messages shown as its thread
TRADES_SIZE: Final = 100  # its latest trades of each side
_AGENT_KEY = "agent_page_agent"
_ASKED_KEY = "agent_page_asked"  # the agent the address named when the picker last followed it


def _pick(dashboard: Dashboard) -> Agent | None:
    roster = {agent.id: agent for agent in dashboard.roster}
    if not roster:
        st.info("No agent in the roster.")
        return None
    asked = st.query_params.get("agent")
    if asked in roster and st.session_state.get(_ASKED_KEY) != asked:  # opened from a link: that agent
        st.session_state[_AGENT_KEY] = asked
    picked = st.selectbox("Agent", list(roster), format_func=lambda key: roster[key].name, key=_AGENT_KEY)
    st.query_params["agent"] = str(picked)
    st.session_state[_ASKED_KEY] = str(picked)
    return roster[str(picked)]


def _book(performance: Mapping[str, Any], agent_id: str) -> Mapping[str, Any]:
    for entry in performance.get("agents") or []:
        if isinstance(entry, Mapping) and entry.get("agent_id") == agent_id:
            return entry
    return {}


def draw_page(dashboard: Dashboard) -> None:
    agent = _pick(dashboard)
    if agent is None:
        return
    st.title(agent.name)
    strategy = escape_markdown(agent.strategy.replace("_", " "))
    st.markdown(f"{colored('●', agent.color)} {strategy} · :small[{escape_markdown(agent.id)}]")
    hub_url = dashboard.settings.hub_url
    api = HubApi(hub_url, timeout_seconds=5)
    try:
        performance = api.performance()
        points = api.equity(agent.id)
    except AgentchatError as error:
        st.error(f"The book cannot be read: {escape_markdown(error.detail)}")
        performance, points = {}, []
    book = _book(performance, agent.id)
    start_equity = float(performance.get("start_equity") or 0) or float(book.get("equity") or 0)
    series = equity_series(start_equity, points)
    win_rate = book.get("win_rate")
    _figures(risk_figures(start_equity, series, win_rate if isinstance(win_rate, int | float) else None), book)
    _positions(book)
    st.subheader("Equity over time")
    _equity_chart(series, agent)
    names = {member.id: member.name for member in dashboard.roster}
    _trades(hub_url, agent, names)
    _thread(hub_url, agent, names)


def _figures(figures: RiskFigures, book: Mapping[str, Any]) -> None:
    equity = book.get("equity")
    cells = st.columns(6)
    cells[0].metric("Equity", whole_money(float(equity)) if isinstance(equity, int | float) else "–")
    cells[1].metric("Return", pct(figures.return_pct) if figures.return_pct is not None else "–")
    cells[2].metric(
        "Sharpe (per round)",
        f"{figures.sharpe:.2f}" if figures.sharpe is not None else "–",
        help="Mean of the per-round returns over their standard deviation; not annualised.",
    )
    cells[3].metric("Win rate", pct(figures.win_rate * 100, signed=False) if figures.win_rate is not None else "–")
    cells[4].metric(
        "Largest loss",
        signed_money(figures.largest_loss) if figures.largest_loss is not None else "none",
        help="The worst change of equity over one round.",
    )
    cells[5].metric("Max drawdown", pct(-figures.max_drawdown_pct) if figures.max_drawdown_pct else "0.00%")
    st.caption(f"Over {figures.rounds} rounds the hub keeps.")


def _positions(book: Mapping[str, Any]) -> None:
    st.subheader("Open positions")
    positions = [item for item in book.get("positions") or [] if isinstance(item, Mapping)]
    if not positions:
        st.caption("Flat: no open position.")
        return
    st.dataframe(
        [
            {
                "symbol": str(item.get("symbol", "")),
                "quantity": item.get("quantity"),
                "average price": item.get("avg_price"),
                "mark price": item.get("mark_price"),
                "unrealized P&L": item.get("unrealized_pnl"),
            }
            for item in positions
        ],
        hide_index=True,
        width="stretch",
        key="agent_positions",
    )


def _equity_chart(series: list[dict[str, Any]], agent: Agent) -> None:
    if not series:
        st.caption("The equity curve appears after the agent's first round.")
        return
    base = alt.Chart(alt.InlineData(values=series))
    x = alt.X("at:T", title="time", axis=alt.Axis(format="%b %d %H:%M"))
    equity = (
        base.mark_line(interpolate="step-after", color=agent.color)
        .encode(
            x=x,
            y=alt.Y("equity:Q", title="equity", scale=alt.Scale(zero=False), axis=alt.Axis(format=",.0f")),
            tooltip=[
                alt.Tooltip("at:T", format="%Y-%m-%d %H:%M:%S"),
                "round:Q",
                alt.Tooltip("equity:Q", format=",.2f"),
            ],
        )
        .properties(height=260)
    )
    drawdown = (
        base.mark_area(interpolate="step-after", color="#E53935", opacity=0.5)
        .encode(
            x=x,
            y=alt.Y("drawdown_pct:Q", title="drawdown %"),
            tooltip=[alt.Tooltip("at:T", format="%Y-%m-%d %H:%M:%S"), alt.Tooltip("drawdown_pct:Q", format=".2f")],
        )
        .properties(height=120)
    )
    st.altair_chart(alt.vconcat(equity, drawdown), width="stretch")


def _trades(hub_url: str, agent: Agent, names: Mapping[str, str]) -> None:
    st.subheader("Trades")
    try:
        found = [
            message
            for side in SIDES
            for message in read_history_page(
                hub_url, HistoryFilter(agents=frozenset({agent.id}), side=side), None, TRADES_SIZE
            )[0]
        ]
    except AgentchatError as error:
        st.error(f"The trades cannot be read: {escape_markdown(error.detail)}")
        return
    if not found:
        st.caption("No trade in history.")
        return
    found.sort(key=lambda message: int(message.get("id") or 0), reverse=True)
    st.caption("Each trade with the message that announced it, newest first, from history.")
    rows = [
        {key: row[key] for key in ("time (UTC)", "side", "quantity", "symbol", "price", "message")}
        for row in message_rows(found[:TRADES_SIZE], names)
    ]
    st.dataframe(rows, hide_index=True, width="stretch", key="agent_trades")


def _thread(hub_url: str, agent: Agent, names: Mapping[str, str]) -> None:
    st.subheader("Thread")
    try:
        messages, _ = read_history_page(hub_url, HistoryFilter(agents=frozenset({agent.id})), None, THREAD_SIZE)
    except AgentchatError as error:
        st.error(f"The thread cannot be read: {escape_markdown(error.detail)}")
        return
    if not messages:
        st.caption("No message yet.")
        return
    st.caption(f"The agent's latest {len(messages)} messages, newest first; the History page has the rest.")
    rows = [
        {key: row[key] for key in ("time (UTC)", "kind", "symbol", "side", "message")}
        for row in message_rows(messages, names)
    ]
    st.dataframe(rows, hide_index=True, width="stretch", key="agent_thread")


def agent_page() -> None:
    """The page script's entry: this run's dashboard (sidebar and feed), then the agent's page."""
    draw_page(current())
