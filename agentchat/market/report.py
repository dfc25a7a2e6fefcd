"""An agent's book as the outside sees it: `BookReport`, declared once for every reader and writer.

`GET /api/agents/performance` lists one per agent, each `event: book` frame carries them, the book
history in the store keeps them (JSON text, one per agent and round), the OpenAPI component
`BookEntry` is their JSON schema (`hub/openapi.py` takes it from `model_json_schema`, `agent_id` as
the roster's `AgentId`), and the
dashboard's Leaderboard reads the API's answer back with the same model.

Money is rounded to the cent and percentages to 4 decimals, average prices to 8; `quantity` and
`mark_price` are the book's and the market's own numbers. The wire form is `wire()`, written with
`message.dumps`: the order of the fields below is the order of the keys on the wire, so a field is
added at the end or not at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from agentchat.body_types import AgentId
from agentchat.market.books import START_CASH, Book

__all__ = ["BookReport", "PositionReport", "rank"]


class PositionReport(BaseModel):
    """One open position: signed quantity, average entry price, the mark and the P&L at that mark."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    symbol: str
    quantity: float
    avg_price: float
    mark_price: float
    unrealized_pnl: float


class BookReport(BaseModel):
    """One agent's book, marked at a round's prices (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    agent_id: AgentId
    equity: float
    cash: float
    realized_pnl: float
    unrealized_pnl: float
    return_pct: float
    positions: list[PositionReport]
    trades: int = Field(ge=0)
    closed_trades: int = Field(ge=0)
    winning_trades: int = Field(ge=0)
    win_rate: float | None = Field(ge=0, le=1)
    max_drawdown_pct: float = Field(ge=0)

    @classmethod
    def of(cls, agent_id: str, book: Book, prices: Mapping[str, float]) -> BookReport:
        """`book` marked at `prices` (a symbol without a price at its average price)."""
        equity = book.equity(prices)
        positions = []
        for symbol, position in sorted(book.positions.items()):
            mark = prices.get(symbol, position.entry_price)
            positions.append(
                PositionReport(
                    symbol=symbol,
                    quantity=position.quantity,
                    avg_price=round(position.entry_price, 8),
                    mark_price=mark,
                    unrealized_pnl=_money(position.unrealized_pnl(mark)),
                )
            )
        win_rate = book.win_rate
        return cls(
            agent_id=agent_id,
            equity=_money(equity),
            cash=_money(book.cash),
            realized_pnl=_money(book.realized_pnl),
            unrealized_pnl=_money(book.unrealized_pnl(prices)),
            return_pct=round((equity / START_CASH - 1) * 100, 4),
            positions=positions,
            trades=book.trades,
            closed_trades=book.closed_trades,
            winning_trades=book.winning_trades,
            win_rate=round(win_rate, 4) if win_rate is not None else None,
            max_drawdown_pct=round(book.max_drawdown_pct, 4),
        )

    def wire(self) -> dict[str, Any]:
        """Plain JSON values in the field order: what the API, the book frame and the history write."""
        return self.model_dump()


def _money(value: float) -> float:
    return round(value, 2)


def rank(reports: Iterable[BookReport]) -> list[BookReport]:
    """Highest equity first; equal equity in agent id order, so every hub ranks alike."""
    return sorted(reports, key=lambda report: (-report.equity, report.agent_id))
