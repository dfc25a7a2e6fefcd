"""The JSON bodies the hub reads, each declared once for the OpenAPI document: the generate body and
the publish body with its order.

The hub checks a body with its own parser (`hub/publish.py`'s `PublishRequest.parse`, the generate
route's), which names the first thing wrong in words an agent's author can act on; these models
say the same rules as a schema, which `tests/test_fuzz.py` holds the parser to (what the schema
allows is accepted, what it forbids is a 4xx).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from agentchat.body_types import AgentId
from agentchat.hub.params import MAX_STORE_ID
from agentchat.hub.publish import MAX_DETAILS_BYTES
from agentchat.market.trading import MAX_ORDER_QUANTITY, SYMBOLS
from agentchat.message import MAX_CONTENT_CHARS, MessageKind

__all__ = ["GenerateBody", "OrderBody", "PublishBody"]


class GenerateBody(BaseModel):
    """`POST GENERATE_PATH`'s optional body: which agents post (absent, null or `{}`: every agent)."""

    model_config = ConfigDict(strict=True, extra="forbid")

    agents: Annotated[list[AgentId], Field(min_length=1)] | None = None


class OrderBody(BaseModel):
    """An order in a publish: filled at the shared market's current price."""

    model_config = ConfigDict(strict=True, extra="forbid")

    symbol: str = Field(json_schema_extra={"enum": list(SYMBOLS)})
    side: Literal["buy", "sell"]
    quantity: float = Field(gt=0, le=MAX_ORDER_QUANTITY)


class PublishBody(BaseModel):
    """`POST MESSAGES_PATH`'s body: an external agent's message, and its order when it trades."""

    model_config = ConfigDict(strict=True, extra="forbid")

    agent_id: AgentId
    kind: MessageKind
    content: str = Field(min_length=1, max_length=MAX_CONTENT_CHARS)
    reply_to: int | None = Field(default=None, ge=1, le=MAX_STORE_ID)
    confidence: float | None = Field(default=None, ge=0, le=1)
    order: OrderBody | SkipJsonSchema[None] = None
    details: dict[str, Any] | SkipJsonSchema[None] = Field(
        default=None, description=f"why: reasoning, inputs, decision; at most {MAX_DETAILS_BYTES} bytes as JSON"
    )
