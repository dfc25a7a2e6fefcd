"""The JSON bodies the hub answers with, each declared once: an error, an agent, a message, the messages
and history pages, a round, a published message, the health, the viewer's configuration.

These models are the declaration: the OpenAPI document takes their schemas from them
(`hub/openapi.py`), `/healthz` builds its body with `Health`, and `tests/test_bodies.py` validates
what the hub sends against them. The stream's own events are in `hub/stream_bodies.py`, the market's
and the books' in `hub/market_bodies.py`, the bodies the hub reads in `hub/request_bodies.py`.

Deliberate choices:

- **The hot path does not go through a model.** A message is encoded once per publish into the
  frame every stream shares (`Message.sse_frame`), and a page of up to a thousand is encoded per
  poll: both keep their own compact dumps, whose bytes the models validate in the tests.
- **Strict.** `strict=True` and closed bodies (`extra="forbid"`; `meta` is open): a body the hub
  sends with a field of the wrong type or one the declaration does not name fails validation,
  and the schema says the same to the fuzzer.
- **A field with a default is one the hub may leave out.** `details` (only where asked for) and
  the trade's fields of `meta` have None as their default without being nullable in the schema
  (`SkipJsonSchema[None]`): the hub leaves them out rather than sending null.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from agentchat.agents import MAX_LABEL_CHARS, STRATEGIES
from agentchat.body_types import AgentId, Timestamp
from agentchat.hub.params import MAX_STORE_ID
from agentchat.message import MessageKind

__all__ = [
    "STORE_ID_DESCRIPTION",
    "Agent",
    "Error",
    "Health",
    "HistoryPage",
    "Message",
    "MessageMeta",
    "MessagesPage",
    "Published",
    "Round",
    "ViewerConfig",
]

STORE_ID_DESCRIPTION = "The store's identity, created with its schema: another value is another store."


class Error(BaseModel):
    """Every error body, 404 and 405 included (`errors.error_body` builds it)."""

    model_config = ConfigDict(strict=True, extra="forbid")

    error: str = Field(examples=["bad_request"])
    detail: str


class Agent(BaseModel):
    """An agent of the roster, as `GET AGENTS_PATH` lists it (`agents.Agent.to_dict`)."""

    model_config = ConfigDict(strict=True, extra="forbid")

    id: AgentId
    name: str
    color: str = Field(pattern="^#[0-9A-Fa-f]{6}$")
    strategy: str = Field(
        min_length=1,
        max_length=MAX_LABEL_CHARS,
        description=f"one of {', '.join(STRATEGIES)}, or an external agent's own label",
    )


class MessageMeta(BaseModel):
    """A message's `meta`: what it is about, and on a trade what was traded. Other fields may appear."""

    model_config = ConfigDict(strict=True, extra="allow")

    symbol: str | None = None
    side: Literal["buy", "sell"] | None = None
    price: float | None = None
    confidence: float | None = Field(default=None, ge=0, le=1)
    reply_to: int | None = Field(default=None, ge=1)
    quantity: float | SkipJsonSchema[None] = Field(default=None, description="signed: > 0 bought; only on a trade")
    position_after: float | SkipJsonSchema[None] = Field(default=None, description="the position after the trade")
    writer: Literal["llm", "offline"] | SkipJsonSchema[None] = Field(
        default=None,
        description="who wrote the words: the model, or the offline writer (no model, or it failed, or too"
        " many rounds already waited for it)",
    )


class Message(BaseModel):
    """A message as the API returns it (SPEC section 4): `agentchat.message.Message.to_dict` builds it."""

    model_config = ConfigDict(strict=True, extra="forbid")

    id: int = Field(ge=1)
    agent_id: str = Field(pattern="^[a-z0-9_]{1,64}$")
    agent_name: str
    kind: MessageKind
    content: str
    created_at: Timestamp
    details: dict[str, Any] | SkipJsonSchema[None] = Field(
        default=None, description="why: where asked for (`?details=1`, publish), always in history and by id"
    )
    meta: MessageMeta


class MessagesPage(BaseModel):
    """`GET MESSAGES_PATH`'s page: messages of the live window after `since_id`, in id order."""

    model_config = ConfigDict(strict=True, extra="forbid")

    messages: list[Message]
    last_id: int = Field(ge=0, le=MAX_STORE_ID)
    retention_seconds: float = Field(gt=0)
    gap: bool = Field(description="since_id is above every id this store handed out")
    store_id: str = Field(description=STORE_ID_DESCRIPTION)


class Health(BaseModel):
    """`GET HEALTH_PATH`'s body, with 200 when the store answers and 503 when it does not."""

    model_config = ConfigDict(strict=True, extra="forbid")

    status: Literal["ok", "degraded"]
    database: str = Field(description="`ok`, or why the store does not answer")
    bus: str = Field(description="`ok`, or why the bus is not delivering")
    generator: str = Field(
        description="`offline` (no model set), `ok` (the model wrote the latest round), or"
        " `degraded: <reason>` while rounds fall back to the offline text (the provider's error"
        " message, a timeout, or too many rounds waiting for the model)"
    )
    clients: int = Field(ge=0)
    uptime_seconds: float = Field(ge=0)


class Round(BaseModel):
    """`POST GENERATE_PATH`'s answer: the round's messages, one per agent, in id order."""

    model_config = ConfigDict(strict=True, extra="forbid")

    messages: list[Message]


class Published(BaseModel):
    """`POST MESSAGES_PATH`'s answer: the stored message, with its details."""

    model_config = ConfigDict(strict=True, extra="forbid")

    message: Message


class HistoryPage(BaseModel):
    """`GET HISTORY_PATH`'s page (`format=json`): newest first, each message with its details."""

    model_config = ConfigDict(strict=True, extra="forbid")

    messages: list[Message]
    next_before_id: int | None = Field(ge=1, description="`before_id` of the next, older page; null on the last page")


class ViewerConfig(BaseModel):
    """`GET VIEWER_CONFIG_PATH`: what the viewer page needs to start (`hub/viewer.py` builds it)."""

    model_config = ConfigDict(strict=True, extra="forbid")

    agents: list[Agent]
    max_per_agent: int = Field(ge=1, le=1000, description="messages kept per agent (`AGENTCHAT_MAX_PER_AGENT`)")
    poll_seconds: float = Field(gt=0, description="the poll period while the stream is down (`AGENTCHAT_POLL_SECONDS`)")
