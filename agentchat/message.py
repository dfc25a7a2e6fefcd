"""The message type and its wire forms.

A message is encoded once when it is published: `Message.sse_frame()` is the exact SSE
bytes every subscribed client receives, so the fan-out never re-encodes per client.
JSON is compact (no spaces) and keeps non-ASCII text as UTF-8, which keeps a
500-character message well under 1 KiB on the wire.

The limits of SPEC section 4 live here, for every generator to honour: content is at most
MAX_CONTENT_CHARS characters, and at most MAX_CONTENT_JSON_BYTES once JSON-encoded, which leaves
the id, names, meta and SSE framing room within MAX_FRAME_BYTES. ASCII text meets the second
limit by meeting the first; text from the network (the LLM's) has to be cut to both.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, get_args

__all__ = [
    "MAX_CONTENT_CHARS",
    "MAX_CONTENT_JSON_BYTES",
    "MAX_FRAME_BYTES",
    "MESSAGE_KINDS",
    "Draft",
    "Message",
    "MessageKind",
    "dumps",
    "event_frame",
    "format_timestamp",
    "message_kind",
    "parse_timestamp",
    "utc_now",
]

MessageKind = Literal["analysis", "trade", "reply", "alert"]
MESSAGE_KINDS: tuple[MessageKind, ...] = get_args(MessageKind)
MAX_CONTENT_CHARS = 500
MAX_CONTENT_JSON_BYTES = 500  # with ~280 bytes of id, names, meta and SSE framing: under 1 KiB
MAX_FRAME_BYTES = 1024


def message_kind(text: str) -> MessageKind:
    """`text` as a kind of SPEC section 4; ValueError for any other word."""
    for kind in MESSAGE_KINDS:
        if text == kind:
            return kind
    raise ValueError(f"unknown message kind {text!r}; expected one of {', '.join(MESSAGE_KINDS)}")


def utc_now() -> datetime:
    """Now in UTC, truncated to milliseconds as it is stored and sent."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def format_timestamp(moment: datetime) -> str:
    """ISO 8601 in UTC with milliseconds and a `Z`: `2026-11-23T10:15:00.123Z`."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_timestamp(text: str) -> datetime:
    """Inverse of `format_timestamp` (accepts any ISO 8601 form with an offset or `Z`)."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def dumps(payload: Any) -> str:
    """Compact JSON as the hub sends it."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class Draft:
    """A message before the store gives it an id and a timestamp."""

    agent_id: str
    agent_name: str
    kind: MessageKind
    content: str
    meta: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] | None = None  # why: reasoning, inputs, decision (SPEC section 4)


@dataclass(frozen=True, slots=True)
class Message:
    """A stored message, as SPEC section 4 defines it."""

    id: int
    agent_id: str
    agent_name: str
    kind: MessageKind
    content: str
    created_at: datetime
    meta: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] | None = None  # up to 8 KiB: only where asked for, never in the default frame
    _frame: bytes | None = field(default=None, init=False, repr=False, compare=False)  # sse_frame(), once made

    def to_dict(self, with_details: bool = False) -> dict[str, Any]:
        """SPEC section 4's message (`hub/bodies.py`'s `Message` declares it); with `with_details`, its `details`
        too when it has any."""
        body = {
            "id": self.id,
            "agent_id": self.agent_id,
            "agent_name": self.agent_name,
            "kind": self.kind,
            "content": self.content,
            "created_at": format_timestamp(self.created_at),
            "meta": self.meta,
        }
        if with_details and self.details is not None:
            body["details"] = self.details
        return body

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Message:
        return cls(
            id=int(data["id"]),
            agent_id=str(data["agent_id"]),
            agent_name=str(data["agent_name"]),
            kind=message_kind(str(data["kind"])),
            content=str(data["content"]),
            created_at=parse_timestamp(str(data["created_at"])),
            meta=dict(data.get("meta") or {}),
            details=dict(data["details"]) if isinstance(data.get("details"), dict) else None,
        )

    def to_json(self, with_details: bool = False) -> str:
        return dumps(self.to_dict(with_details))

    def sse_frame(self, with_details: bool = False) -> bytes:
        """The SSE frame: `id:` line, `data:` line, blank line (default event type).

        Built once per message and kept on it: the frame window and the fan-out, which both get every
        published message, share the same bytes, and every client gets them. The frame with `details`
        is built only for streams that asked for them (`?details=1`), so the default frame keeps
        its 1 KiB budget.
        """
        if with_details:
            return b"id: %d\ndata: %s\n\n" % (self.id, self.to_json(True).encode())
        frame = self._frame
        if frame is None:
            frame = b"id: %d\ndata: %s\n\n" % (self.id, self.to_json().encode())
            object.__setattr__(self, "_frame", frame)  # a cache of a value derived from the frozen fields
        return frame


def event_frame(event: str, payload: dict[str, Any]) -> bytes:
    """A named SSE event without an id (ready, heartbeat): it must not move Last-Event-ID."""
    return b"event: %s\ndata: %s\n\n" % (event.encode(), dumps(payload).encode())
