"""The JSON of the stream's own events, each declared once: `event: ready` and `event: heartbeat`.

`event: unavailable` carries the error body (`bodies.Error`), a message event a `bodies.Message`,
and `event: book` a `market_bodies.BookFrame`. The frames are written by fast code (`hub/stream.py`
writes `ready` into a byte template, `hub/periodic.py` the heartbeat once for every stream), so
these models are their declaration for the OpenAPI document and for `tests/test_bodies.py`, which
holds what a real hub sends to them.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from agentchat.body_types import Timestamp
from agentchat.hub.bodies import STORE_ID_DESCRIPTION

__all__ = ["Heartbeat", "Ready"]


class Ready(BaseModel):
    """The stream's first event: the hub's clock, its heartbeat period and the store's bounds."""

    model_config = ConfigDict(strict=True, extra="forbid")

    server_time: Timestamp
    heartbeat_seconds: float = Field(gt=0)
    last_id: int | None = Field(ge=1)
    earliest_id: int | None = Field(ge=1)
    gap: bool
    store_id: str = Field(description=STORE_ID_DESCRIPTION)


class Heartbeat(BaseModel):
    """Every heartbeat period, to every stream: the hub's clock and how many clients it serves."""

    model_config = ConfigDict(strict=True, extra="forbid")

    server_time: Timestamp
    clients: int = Field(ge=0)
