"""The message type: its kinds, its limits and its wire form (SPEC section 4)."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime

import pytest

from agentchat.agents import BUILTIN_ROSTER
from agentchat.message import (
    MAX_CONTENT_CHARS,
    MAX_CONTENT_JSON_BYTES,
    MAX_FRAME_BYTES,
    MESSAGE_KINDS,
    Message,
    message_kind,
)

LONGEST_AGENT = max(BUILTIN_ROSTER, key=lambda agent: len(agent.id) + len(agent.name))
FULL_META = {
    "symbol": "EURUSD",
    "side": "sell",
    "price": 71234.56789,
    "confidence": 0.72,
    "reply_to": 2_147_483_646,
    "quantity": -123456.789012,
    "position_after": -987654.321098,
    "writer": "offline",  # or "llm": who wrote the words
}


def message_with(content: str, kind: str = "analysis") -> Message:
    return Message(
        id=2_147_483_647,
        agent_id=LONGEST_AGENT.id,
        agent_name=LONGEST_AGENT.name,
        kind=message_kind(kind),
        content=content,
        created_at=datetime(2026, 11, 23, 10, 15, 0, 123000, tzinfo=UTC),
        meta=FULL_META,
    )


def test_the_spec_lists_four_kinds() -> None:
    assert MESSAGE_KINDS == ("analysis", "trade", "reply", "alert")


@pytest.mark.parametrize("kind", MESSAGE_KINDS)
def test_each_kind_of_the_spec_is_read_as_itself(kind: str) -> None:
    assert message_kind(kind) == kind


@pytest.mark.parametrize("text", ["", "Analysis", "chat", "trade "])
def test_any_other_kind_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="unknown message kind"):
        message_kind(text)


def test_a_message_reads_back_from_its_json() -> None:
    message = message_with("BTC perp basis 0.4% over spot; opening a small cash-and-carry.", kind="trade")
    assert Message.from_dict(json.loads(message.to_json())) == message


def test_a_message_of_an_unknown_kind_is_refused_on_reading() -> None:
    document = json.loads(message_with("text").to_json()) | {"kind": "gossip"}
    with pytest.raises(ValueError, match="gossip"):
        Message.from_dict(document)


@pytest.mark.parametrize(
    "content",
    [
        "x" * MAX_CONTENT_CHARS,  # ASCII: one byte a character
        "🚀" * (MAX_CONTENT_JSON_BYTES // 4),  # four bytes a character
        '"' * (MAX_CONTENT_JSON_BYTES // 2),  # escaped by JSON: two bytes a character
    ],
    ids=["ascii", "emoji", "quotes"],
)
def test_a_message_at_the_content_limits_is_at_most_1_kib_on_the_wire(content: str) -> None:
    assert len(content) <= MAX_CONTENT_CHARS
    assert len(json.dumps(content, ensure_ascii=False).encode()) - 2 == MAX_CONTENT_JSON_BYTES
    frame = message_with(content).sse_frame()
    chunked = len(b"%x\r\n" % len(frame)) + len(frame) + len(b"\r\n")
    assert chunked <= MAX_FRAME_BYTES


def test_a_message_is_encoded_once_and_its_frame_shared() -> None:
    """The frame window and the fan-out both get every message: they send the same bytes, made once."""
    message = message_with("hello")
    frame = message.sse_frame()
    assert message.sse_frame() is frame
    assert frame == b"id: %d\ndata: %s\n\n" % (message.id, message.to_json().encode())
    assert message == Message.from_dict(message.to_dict())  # the kept frame is no part of the value
    detailed = dataclasses.replace(message, details={"why": "x"})
    assert b'"details"' in detailed.sse_frame(True) and b'"details"' not in detailed.sse_frame()
