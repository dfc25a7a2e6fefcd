"""An agent's book: cash, positions at average cost, realized P&L, trade counts and drawdown.

A `Book` is a value: `filled()` and `marked()` return a new one. It is the one place that does the
accounting, so the simulation, an external agent's fill and the hub's API agree by construction:

- Every agent starts with `START_CASH` and no position. A fill of `quantity` (signed: > 0 buys) at
  `price` moves `quantity * price` of cash and changes the position through `Position.after_fill`
  (average cost; a fill that reduces or flips a position realizes P&L on the part it closes).
- Equity is cash plus every position at its mark; unrealized P&L is each position against its
  average price. `marked()` runs once a round, at that round's prices: it keeps the peak equity and
  the deepest fall from a peak (`max_drawdown_pct`), so the drawdown covers the whole life of the
  book, not only the equity points still kept.
- A *closing* fill is one against the position held (it reduces, closes or flips it); it is a *win*
  when the P&L it realized is positive. `win_rate` is wins over closing fills, None before the first.

What the API and the dashboard show of a book is `report.py`'s `BookReport`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["QUANTITY_DIGITS", "START_CASH", "Book", "Fill", "Position"]

START_CASH = 1_000_000.0
QUANTITY_DIGITS = 10  # a position's quantity is rounded to this many decimals after every fill


@dataclass(frozen=True, slots=True)
class Position:
    """A signed holding in one instrument at an average entry price (quantity > 0 is long)."""

    quantity: float = 0.0
    entry_price: float = 0.0

    @property
    def direction(self) -> int:
        return (self.quantity > 0) - (self.quantity < 0)

    def notional(self, price: float) -> float:
        return abs(self.quantity) * price

    def unrealized_pnl(self, price: float) -> float:
        return self.quantity * (price - self.entry_price)

    def pnl_pct(self, price: float) -> float:
        if not self.direction or self.entry_price <= 0:
            return 0.0
        return self.direction * (price / self.entry_price - 1) * 100

    def after_fill(self, quantity: float, price: float) -> tuple[Position, float]:
        """The position after trading `quantity` (signed) at `price`, and the P&L that trade realized."""
        if quantity == 0:
            return self, 0.0
        new_quantity = round(self.quantity + quantity, QUANTITY_DIGITS)  # no 0.30000000000000004 in a book
        if new_quantity == 0:
            return Position(), self.quantity * (price - self.entry_price)
        if self.direction == 0 or (quantity > 0) == (self.quantity > 0):
            entry = (self.quantity * self.entry_price + quantity * price) / new_quantity
            return Position(new_quantity, entry), 0.0
        closed = min(abs(quantity), abs(self.quantity)) * self.direction
        realized = closed * (price - self.entry_price)
        if (new_quantity > 0) == (self.quantity > 0):
            return Position(new_quantity, self.entry_price), realized
        return Position(new_quantity, price), realized


@dataclass(frozen=True, slots=True)
class Fill:
    """One trade: `quantity` units of `symbol` (signed, > 0 buys) at `price`."""

    symbol: str
    quantity: float
    price: float


@dataclass(frozen=True, slots=True)
class Book:
    """One agent's account; see the module docstring for the rules."""

    cash: float = START_CASH
    positions: Mapping[str, Position] = field(default_factory=dict)
    realized_pnl: float = 0.0
    trades: int = 0
    closed_trades: int = 0
    winning_trades: int = 0
    peak_equity: float = START_CASH
    max_drawdown_pct: float = 0.0

    def position(self, symbol: str) -> Position:
        return self.positions.get(symbol, Position())

    def filled(self, fill: Fill) -> tuple[Book, float]:
        """The book after `fill`, and the P&L the fill realized."""
        before = self.position(fill.symbol)
        after, realized = before.after_fill(fill.quantity, fill.price)
        positions = dict(self.positions)
        if after.direction:
            positions[fill.symbol] = after
        else:
            positions.pop(fill.symbol, None)
        closing = before.direction != 0 and (fill.quantity > 0) != (before.quantity > 0)
        book = dataclasses.replace(
            self,
            cash=self.cash - fill.quantity * fill.price,
            positions=positions,
            realized_pnl=self.realized_pnl + realized,
            trades=self.trades + 1,
            closed_trades=self.closed_trades + closing,
            winning_trades=self.winning_trades + (closing and realized > 0),
        )
        return book, realized

    def equity(self, prices: Mapping[str, float]) -> float:
        """Cash plus every position at `prices` (a symbol without a price is marked at its average price)."""
        return self.cash + math.fsum(
            position.quantity * prices.get(symbol, position.entry_price) for symbol, position in self.positions.items()
        )

    def unrealized_pnl(self, prices: Mapping[str, float]) -> float:
        return math.fsum(
            position.unrealized_pnl(prices.get(symbol, position.entry_price))
            for symbol, position in self.positions.items()
        )

    def marked(self, prices: Mapping[str, float]) -> Book:
        """The book after a round closed at `prices`: its peak equity and deepest drawdown brought up to date."""
        equity = self.equity(prices)
        peak = max(self.peak_equity, equity)
        drawdown_pct = (peak - equity) / peak * 100 if peak > 0 else 0.0
        return dataclasses.replace(self, peak_equity=peak, max_drawdown_pct=max(self.max_drawdown_pct, drawdown_pct))

    @property
    def win_rate(self) -> float | None:
        return self.winning_trades / self.closed_trades if self.closed_trades else None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values, exact (floats survive JSON as they are)."""
        return {
            "cash": self.cash,
            "positions": {symbol: [p.quantity, p.entry_price] for symbol, p in sorted(self.positions.items())},
            "realized_pnl": self.realized_pnl,
            "trades": self.trades,
            "closed_trades": self.closed_trades,
            "winning_trades": self.winning_trades,
            "peak_equity": self.peak_equity,
            "max_drawdown_pct": self.max_drawdown_pct,
        }

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> Book:
        return cls(
            cash=float(values["cash"]),
            positions={
                str(symbol): Position(float(quantity), float(entry))
                for symbol, (quantity, entry) in dict(values["positions"]).items()
            },
            realized_pnl=float(values["realized_pnl"]),
            trades=int(values["trades"]),
            closed_trades=int(values["closed_trades"]),
            winning_trades=int(values["winning_trades"]),
            peak_equity=float(values["peak_equity"]),
            max_drawdown_pct=float(values["max_drawdown_pct"]),
        )
