"""The market's and the books' JSON bodies, each declared once: `GET /api/market`, `GET
/api/agents/performance`, `GET /api/agents/{id}/equity` and the stream's `event: book` frames.

An agent's book inside them is the market's own `BookReport` (`market/report.py`, the OpenAPI
component `BookEntry`). The answers of the cold routes are built through these models
(`publish_routes.market_document`, `book_routes`), their dumps the same bytes as the dicts they
replaced. The book frames are not: `hub/book_frames.py` computes a round's changes per agent and
encodes each frame once for every stream, so `BookFull` and `BookChanges` are its declaration for
the OpenAPI document and for `tests/test_bodies.py`, which holds what a real hub sends to them.
Closed (`extra="forbid"`) and strict, as `hub/bodies.py`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from agentchat.body_types import AgentId, Timestamp
from agentchat.market.report import BookReport

__all__ = ["BookChanges", "BookFull", "Equity", "EquityPoint", "Market", "Performance", "Quote"]

BOOK_FRAME_DESCRIPTION = "The full books (`full: true`) or one round's changes (`full: false`)."


class Quote(BaseModel):
    """One symbol of the market: its price now and its move over the latest bar."""

    model_config = ConfigDict(strict=True, extra="forbid")

    symbol: str
    price: float
    change_pct: float = Field(description="over the latest bar")


class Market(BaseModel):
    """`GET MARKET_PATH`: the shared simulated market now, what an agent decides from."""

    model_config = ConfigDict(strict=True, extra="forbid")

    as_of: Timestamp
    bar: int = Field(ge=0)
    round: int = Field(ge=0)
    symbols: list[Quote]


class Performance(BaseModel):
    """`GET PERFORMANCE_PATH`: every agent's book, highest equity first, and the round they are marked at."""

    model_config = ConfigDict(strict=True, extra="forbid")

    as_of: Timestamp
    round: int = Field(ge=0)
    round_agents: list[AgentId]
    start_equity: float
    prices: dict[str, float]
    agents: list[BookReport]


class BookFull(BaseModel):
    """`event: book` with every followed agent's whole book (as the stream goes live)."""

    model_config = ConfigDict(strict=True, extra="forbid")

    round: int = Field(ge=0)
    as_of: Timestamp
    full: Literal[True]
    agents: list[BookReport]


class BookChanges(BaseModel):
    """`event: book` after a round: the moved marks and only the changed fields of the books that moved."""

    model_config = ConfigDict(strict=True, extra="forbid")

    round: int = Field(ge=0)
    as_of: Timestamp
    full: Literal[False]
    marks: dict[str, float]
    changes: dict[str, dict[str, Any]] = Field(
        description="By agent id: the changed fields of its book entry; `positions` by symbol."
    )


class EquityPoint(BaseModel):
    """An agent's equity after one round."""

    model_config = ConfigDict(strict=True, extra="forbid")

    round: int = Field(ge=1)
    at: Timestamp
    equity: float


class Equity(BaseModel):
    """`GET EQUITY_PATH`: one agent's equity after each round kept, oldest first."""

    model_config = ConfigDict(strict=True, extra="forbid")

    agent_id: AgentId
    start_equity: float
    kept_rounds: int = Field(ge=0)
    points: list[EquityPoint]
