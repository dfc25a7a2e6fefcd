"""What the History and agent pages show, as pure functions of the hub's answers (tested without Streamlit).

- `message_rows`: history messages as table rows (text stays text: a dataframe cell, never Markdown).
- `equity_series`: an agent's equity after each round on a time axis, with its drawdown from the peak.
- `risk_figures`: beside return, what an operator asks of a book: a Sharpe-style ratio of the
  per-round returns (mean over standard deviation, not annualised: rounds are not days), the win
  rate of closed trades, the largest loss of one round and the deepest drawdown.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from agentchat.message import parse_timestamp

__all__ = ["AGENT_PAGE_PATH", "RiskFigures", "agent_link", "equity_series", "message_rows", "risk_figures"]

AGENT_PAGE_PATH = "agent"  # the agent page's url path; `?agent=<id>` names the agent


def agent_link(agent_id: str) -> str:
    """The agent page's address for one agent, relative to the dashboard's root."""
    return f"{AGENT_PAGE_PATH}?agent={agent_id}"


def _time(value: Any) -> str:
    try:
        return parse_timestamp(str(value)).strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return ""


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def message_rows(messages: Sequence[Mapping[str, Any]], names: Mapping[str, str]) -> list[dict[str, Any]]:
    """One row per message, newest first as given: time, agent (a link to its page), kind, trade, text."""
    rows = []
    for message in messages:
        meta = message.get("meta")
        meta = meta if isinstance(meta, Mapping) else {}
        agent_id = str(message.get("agent_id", ""))
        rows.append(
            {
                "id": message.get("id"),
                "time (UTC)": _time(message.get("created_at")),
                "agent": names.get(agent_id, agent_id),
                "page": agent_link(agent_id),
                "kind": str(message.get("kind", "")),
                "symbol": str(meta.get("symbol") or ""),
                "side": str(meta.get("side") or ""),
                "quantity": _number(meta.get("quantity")),
                "price": _number(meta.get("price")),
                "message": str(message.get("content", "")),
            }
        )
    return rows


def equity_series(start_equity: float, points: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Each round's equity at its time, oldest first, with the drawdown from the running peak (in %, <= 0)."""
    rows = []
    peak = start_equity
    for point in points:
        equity = _number(point.get("equity"))
        at = point.get("at")
        if equity is None or not isinstance(at, str):
            continue
        peak = max(peak, equity)
        drawdown = (equity / peak - 1) * 100 if peak > 0 else 0.0
        rows.append({"at": at, "round": point.get("round"), "equity": equity, "drawdown_pct": round(drawdown, 4)})
    return rows


@dataclass(frozen=True, slots=True)
class RiskFigures:
    rounds: int
    return_pct: float | None
    sharpe: float | None  # mean per-round return over its standard deviation; None under two rounds or flat
    win_rate: float | None  # of closed trades, from the book
    largest_loss: float | None  # the worst one-round change of equity (negative), None without a losing round
    max_drawdown_pct: float  # the deepest fall from a peak, in % (>= 0)


def risk_figures(start_equity: float, series: Sequence[Mapping[str, Any]], win_rate: float | None) -> RiskFigures:
    """The figures of an equity series (`equity_series`) that started at `start_equity`."""
    equities = [float(row["equity"]) for row in series]
    previous = [start_equity, *equities][: len(equities)]
    returns = [now / before - 1 for before, now in zip(previous, equities, strict=True) if before > 0]
    changes = [now - before for before, now in zip(previous, equities, strict=True)]
    sharpe = None
    if len(returns) >= 2:
        spread = statistics.stdev(returns)
        if spread > 0 and math.isfinite(spread):
            sharpe = statistics.fmean(returns) / spread
    losses = [change for change in changes if change < 0]
    return RiskFigures(
        rounds=len(equities),
        return_pct=(equities[-1] / start_equity - 1) * 100 if equities and start_equity > 0 else None,
        sharpe=sharpe,
        win_rate=win_rate,
        largest_loss=min(losses) if losses else None,
        max_drawdown_pct=-min((float(row["drawdown_pct"]) for row in series), default=0.0),
    )
