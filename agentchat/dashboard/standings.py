"""What the Leaderboard shows, as pure functions of the hub's answers: rows, the round, the clock, curves, trades.

Nothing here calls Streamlit or the network (`leaderboard` draws, `hub_api` asks), so every value
the Leaderboard puts on screen is a plain function with a test. Each agent's entry is read with the
model the hub writes it with (`market/report.py`'s `BookReport`); an entry that is not one is left
out. Figures are formatted without a currency sign: `$` would open LaTeX in Streamlit's Markdown.
Agents the dashboard's roster does not know (a hub with another roster file) are shown under their
id, in gray.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from agentchat.agents import Agent
from agentchat.dashboard.hub_api import FALLBACK_COLOR
from agentchat.market.report import BookReport, PositionReport
from agentchat.message import parse_timestamp
from agentchat.scheduling import Slot, interval_ms

__all__ = [
    "Standing",
    "equity_rows",
    "next_round_text",
    "pct",
    "round_status",
    "signed_money",
    "standings",
    "trade_rows",
    "whole_money",
]


def whole_money(value: float) -> str:
    """1002345.67 → '1,002,346'."""
    return f"{value:,.0f}"


def signed_money(value: float) -> str:
    """2345.6 → '+2,346'; -0.4 → '-0'; 0 → '0'."""
    return "0" if value == 0 else f"{value:+,.0f}"


def pct(value: float | None, digits: int = 2, signed: bool = True) -> str:
    """0.2566 → '+0.26%'; None → '—'."""
    if value is None:
        return "—"
    return f"{value:+.{digits}f}%" if signed else f"{value:.{digits}f}%"


@dataclass(frozen=True, slots=True)
class Standing:
    """One row of the Leaderboard."""

    rank: int
    agent: Agent
    equity: float
    return_pct: float
    realized_pnl: float
    unrealized_pnl: float
    win_rate: float | None  # 0..1
    closed_trades: int
    trades: int
    max_drawdown_pct: float
    positions: str  # 'BTC +0.25 · EURUSD -873,143', or '' when flat

    @property
    def win_rate_text(self) -> str:
        if self.win_rate is None:
            return "—"
        return f"{self.win_rate:.0%} of {self.closed_trades}"


def _agent(agent_id: str, roster: Mapping[str, Agent]) -> Agent:
    return roster.get(agent_id) or Agent(agent_id, agent_id, FALLBACK_COLOR, "")


def _number(value: Any, default: float = 0.0) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else default


def _positions_text(positions: Sequence[PositionReport]) -> str:
    return " · ".join(f"{position.symbol} {position.quantity:+,.8g}" for position in positions)


def _ranked_reports(entries: Any) -> list[tuple[int, BookReport]]:
    """The entries that are book reports, each with its place in the hub's ranking."""
    reports = []
    for rank, entry in enumerate(entries if isinstance(entries, list) else [], start=1):
        try:
            reports.append((rank, BookReport.model_validate(entry)))
        except ValidationError:
            continue
    return reports


def standings(performance: Mapping[str, Any], roster: Sequence[Agent]) -> list[Standing]:
    """The hub's ranking as rows, in its order (highest equity first)."""
    by_id = {agent.id: agent for agent in roster}
    return [
        Standing(
            rank=rank,
            agent=_agent(report.agent_id, by_id),
            equity=report.equity,
            return_pct=report.return_pct,
            realized_pnl=report.realized_pnl,
            unrealized_pnl=report.unrealized_pnl,
            win_rate=report.win_rate,
            closed_trades=report.closed_trades,
            trades=report.trades,
            max_drawdown_pct=report.max_drawdown_pct,
            positions=_positions_text(report.positions),
        )
        for rank, report in _ranked_reports(performance.get("agents"))
    ]


def round_status(performance: Mapping[str, Any], roster: Sequence[Agent]) -> tuple[bool, str]:
    """(complete, text): 'Round 12: all 6 agents' or 'Round 12: 4 of 6 agents, missing Grok Sentiment, ...'."""
    number = int(_number(performance.get("round")))
    if number <= 0:
        return False, "No round yet"
    asked = performance.get("round_agents")
    asked_ids = {str(agent_id) for agent_id in asked} if isinstance(asked, list) else set()
    missing = [agent.name for agent in roster if agent.id not in asked_ids]
    if not missing:
        return True, f"Round {number}: all {len(roster)} agents"
    present = len(roster) - len(missing)
    return False, f"Round {number}: {present} of {len(roster)} agents, missing {', '.join(missing)}"


def next_round_text(schedule_minutes: float, now: datetime) -> str:
    """'Next round in 12 min' from the scheduler's slots (aligned to the clock, as `scheduling` cuts them)."""
    slot = Slot.containing(interval_ms(max(schedule_minutes, 1 / 60)), int(now.timestamp() * 1000))
    seconds = max(0.0, slot.end_ms / 1000 - now.timestamp())
    if seconds < 60:
        return f"Next round in {int(seconds)} s"
    return f"Next round in {int(seconds // 60)} min"


def equity_rows(curves: Mapping[str, Sequence[Mapping[str, Any]]], roster: Sequence[Agent]) -> list[dict[str, Any]]:
    """One row per agent and round, for a line chart: agent (name), color, round, equity."""
    by_id = {agent.id: agent for agent in roster}
    rows = []
    for agent_id, points in curves.items():
        agent = _agent(agent_id, by_id)
        for point in points:
            rows.append(
                {
                    "agent": agent.name,
                    "color": agent.color,
                    "round": int(_number(point.get("round"))),
                    "equity": _number(point.get("equity")),
                }
            )
    return rows


def trade_rows(messages: Sequence[Mapping[str, Any]], agent_id: str) -> list[dict[str, Any]]:
    """The agent's trades among `messages` (newest first), each with the words of the message that announced it."""
    rows = []
    for message in messages:
        meta = message.get("meta")
        if message.get("agent_id") != agent_id or not isinstance(meta, Mapping) or not meta.get("side"):
            continue
        try:
            at = parse_timestamp(str(message.get("created_at"))).strftime("%H:%M:%S")
        except ValueError:
            at = ""
        rows.append(
            {
                "time (UTC)": at,
                "side": str(meta.get("side")),
                "quantity": _number(meta.get("quantity")),
                "symbol": str(meta.get("symbol", "")),
                "price": _number(meta.get("price")),
                "position after": _number(meta.get("position_after")),
                "message": str(message.get("content", "")),
            }
        )
    return rows
