"""The market's trading rules: what an order may be, the book that must hold it, and the trade's record.

Three kinds of trader meet in the one market and go through the same rules: the offline writers
(`generator/offline.py` books each proposed trade at the bar's price), an external agent's order
(`POST /api/chat/messages`, `hub/publish.py`) and, with `AGENTCHAT_LLM_DECIDES=true`, the model's
decision (`round.py`). The last two are orders checked here:

- `parse_order`: a known symbol (`SYMBOLS`), a side, and a quantity above 0 and at most
  `MAX_ORDER_QUANTITY` (anything larger is a typo, whatever the price), kept to `QUANTITY_DIGITS`.
- `execute`: the order filled at the current price, and the order rule on the book after the fill
  (`check_exposure`): the agent's gross exposure (every position's quantity times its current
  price, longs and shorts alike) at most `MAX_GROSS_LEVERAGE` times its equity, and its equity
  positive. A fill that would break it is a `BadRequest` (a 400 to an external agent, the engine's
  own decision for the model), and the book is not changed.

`close_round` marks every book at the round's prices once the round's trades are booked.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeGuard

from agentchat.errors import BadRequest
from agentchat.market.books import QUANTITY_DIGITS, Book, Fill
from agentchat.market.prices import INSTRUMENTS

__all__ = [
    "MAX_GROSS_LEVERAGE",
    "MAX_ORDER_QUANTITY",
    "ORDER_FIELDS",
    "SYMBOLS",
    "Order",
    "check_exposure",
    "close_round",
    "execute",
    "parse_order",
]

MAX_GROSS_LEVERAGE = 2.0  # gross exposure after a fill, at most this many times the agent's equity
MAX_ORDER_QUANTITY = 1e12  # any larger quantity is a typo, whatever the price
SYMBOLS: tuple[str, ...] = tuple(instrument.symbol for instrument in INSTRUMENTS)
ORDER_FIELDS = frozenset({"symbol", "side", "quantity"})


@dataclass(frozen=True, slots=True)
class Order:
    """What the agent asks to trade: `quantity` (> 0) units of `symbol`, bought or sold."""

    symbol: str
    side: str
    quantity: float

    @property
    def signed_quantity(self) -> float:
        return self.quantity if self.side == "buy" else -self.quantity


def _number(value: Any) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def parse_order(value: Any) -> Order:
    """A JSON `order` object as an `Order`, or a `BadRequest` naming what is wrong with it."""
    if not isinstance(value, dict):
        raise BadRequest('\'order\' must be an object like {"symbol": "BTC", "side": "buy", "quantity": 0.5}')
    extra = sorted(set(value) - ORDER_FIELDS)
    if extra:
        raise BadRequest(f"unknown order field {', '.join(extra)}; the fields are symbol, side, quantity")
    symbol, side, quantity = value.get("symbol"), value.get("side"), value.get("quantity")
    if not isinstance(symbol, str) or symbol not in SYMBOLS:
        raise BadRequest(f"unknown symbol {str(symbol)[:40]!r}; the market has {', '.join(SYMBOLS)}")
    if side not in ("buy", "sell"):
        raise BadRequest("order side must be 'buy' or 'sell'")
    if not _number(quantity) or not 0 < quantity <= MAX_ORDER_QUANTITY or round(quantity, QUANTITY_DIGITS) == 0:
        raise BadRequest(f"order quantity must be a number above 0 and at most {MAX_ORDER_QUANTITY:g}")
    return Order(symbol, str(side), round(float(quantity), QUANTITY_DIGITS))


def check_exposure(book: Book, prices: Mapping[str, float]) -> None:
    """The order rule (see the module docstring), on the book after the fill; a `BadRequest` when broken."""
    equity = book.equity(prices)
    gross = math.fsum(abs(position.quantity) * prices[symbol] for symbol, position in book.positions.items())
    if equity <= 0 or gross > MAX_GROSS_LEVERAGE * equity:
        raise BadRequest(
            f"the book cannot hold this order: gross exposure after it would be {gross:,.2f}, over "
            f"{MAX_GROSS_LEVERAGE:g} x equity {equity:,.2f}"
        )


def execute(book: Book, order: Order, prices: Mapping[str, float]) -> tuple[Book, dict[str, Any]]:
    """The book after `order` filled at its symbol's price in `prices`, and the trade as a message's `meta`
    records it (symbol, side, price, signed quantity, position after); a `BadRequest` if the book cannot hold it."""
    price = prices[order.symbol]
    book, _ = book.filled(Fill(order.symbol, order.signed_quantity, price))
    check_exposure(book, prices)
    trade = {
        "symbol": order.symbol,
        "side": order.side,
        "price": price,
        "quantity": order.signed_quantity,
        "position_after": book.position(order.symbol).quantity,
    }
    return book, trade


def close_round(books: Mapping[str, Book], prices: Mapping[str, float]) -> dict[str, Book]:
    """Every book marked at the round's closing `prices`: its peak equity and deepest drawdown brought up to date."""
    return {agent_id: book.marked(prices) for agent_id, book in books.items()}
