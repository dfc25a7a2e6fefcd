"""The dashboard's pure formatters: what ages, meta, headings and the status pill look like on screen."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from agentchat.agents import BUILTIN_ROSTER
from agentchat.client import FeedDiagnostics, FeedSnapshot, State
from agentchat.dashboard.formatting import (
    KIND_COLORS,
    WORD_JOINER,
    agent_heading,
    card_heading,
    check_rows,
    colored,
    duration,
    escape_markdown,
    latency_summary,
    message_age_seconds,
    meta_line,
    pill_markdown,
    pill_text,
    relative_age,
)
from agentchat.message import MESSAGE_KINDS
from agentchat.probe import CheckResult

NOW = datetime(2026, 11, 23, 10, 15, 12, tzinfo=UTC)
ARBITRAGE = BUILTIN_ROSTER[0]
HUB_URL = "http://127.0.0.1:8000"


def message(**fields: Any) -> dict[str, Any]:
    return {
        "id": 1,
        "agent_id": ARBITRAGE.id,
        "agent_name": ARBITRAGE.name,
        "kind": "trade",
        "content": "text",
        "created_at": "2026-11-23T10:15:00.000Z",
        "meta": {},
    } | fields


def snapshot(state: State, last_error: str | None = None) -> FeedSnapshot:
    diagnostics = FeedDiagnostics(
        hub_url=HUB_URL,
        heartbeat_seconds=None,
        events_received=0,
        messages_received=0,
        duplicates_dropped=0,
        heartbeats=0,
        reconnects=0,
        polls=0,
        last_heartbeat_at=None,
        last_event_id=None,
        last_error=last_error,
        gap=False,
        latencies_seconds=(),
    )
    return FeedSnapshot(version=0, state=state, messages=(), diagnostics=diagnostics)


@pytest.mark.parametrize(
    ("text", "link_part"),
    [
        ("http://example.com", "\\:" + WORD_JOINER + "\\/"),
        ("www.example.com", "www" + WORD_JOINER + "\\."),
        ("a@b.c", "a" + WORD_JOINER + "\\@"),
    ],
)
def test_escaped_markdown_breaks_every_bare_link_with_an_invisible_joiner(text: str, link_part: str) -> None:
    assert link_part in escape_markdown(text)


def test_escaped_markdown_is_one_line() -> None:
    assert escape_markdown("two\nlines\t and  tabs") == "two lines and tabs"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "just now"),
        (4.9, "just now"),
        (5, "5 s ago"),
        (9.9, "5 s ago"),
        (12.3, "10 s ago"),
        (59.9, "55 s ago"),
        (60, "1 min ago"),
        (3599, "59 min ago"),
        (3600, "1 h ago"),
        (86_400, "24 h ago"),
    ],
)
def test_relative_age_counts_seconds_then_minutes_then_hours(seconds: float, text: str) -> None:
    assert relative_age(seconds) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(90, "90 s"), (119, "119 s"), (120, "2 min"), (600, "10 min"), (7200, "2 h"), (86_400, "24 h")],
)
def test_duration_names_a_retention_window_in_its_largest_unit_from_two_of_them(seconds: float, text: str) -> None:
    assert duration(seconds) == text


def test_message_age_is_seconds_since_its_creation() -> None:
    assert message_age_seconds(message(), NOW) == 12.0


def test_message_from_the_future_is_zero_seconds_old() -> None:
    assert message_age_seconds(message(created_at="2026-11-23T10:16:00.000Z"), NOW) == 0.0


@pytest.mark.parametrize("created_at", [None, "yesterday"])
def test_message_without_a_readable_creation_time_has_no_age(created_at: str | None) -> None:
    fields = message(created_at=created_at)
    if created_at is None:
        del fields["created_at"]
    assert message_age_seconds(fields, NOW) is None


def test_meta_line_shows_symbol_side_price_confidence_and_whom_it_answers() -> None:
    meta = {"symbol": "BTC", "side": "buy", "price": 71234.5, "confidence": 0.72, "reply_to": 41}
    line = meta_line(message(meta=meta), {41: "Claude Arbitrage"})
    assert line == "BTC · buy · 71,234.5 · confidence 72% · ↩ #41 Claude Arbitrage"


def test_meta_line_answers_an_id_it_has_no_name_for_with_the_id_alone() -> None:
    assert meta_line(message(meta={"reply_to": "7"}), {}) == "↩ #7"


def test_meta_line_leaves_out_what_is_missing_or_not_a_number() -> None:
    meta = {"symbol": "BTC", "side": None, "price": True, "confidence": "high", "reply_to": "x"}
    assert meta_line(message(meta=meta), {}) == "BTC"


@pytest.mark.parametrize("meta", [None, "not a mapping", {}])
def test_meta_line_of_a_message_without_meta_is_empty(meta: Any) -> None:
    assert meta_line(message(meta=meta), {}) == ""


def test_colored_text_is_escaped_inside_the_colour_directive() -> None:
    assert colored("a*b", "#A0826D") == ':color[a\\*b]{foreground="#A0826D"}'


def test_agent_heading_names_the_agent_in_its_colour_over_its_strategy() -> None:
    heading = agent_heading(BUILTIN_ROSTER[2])
    assert heading == (
        '**:color[●]{foreground="#7FB3D5"} :color[Gemini Mean Reversion]{foreground="#7FB3D5"}**  \n'
        ":small[mean reversion]"
    )


@pytest.mark.parametrize("kind", MESSAGE_KINDS)
def test_card_heading_is_the_kinds_badge_and_the_age(kind: str) -> None:
    assert card_heading(message(kind=kind), NOW) == f":{KIND_COLORS[kind]}-badge[{kind}] :small[10 s ago]"


def test_card_heading_on_the_timeline_names_the_agent_first_in_its_colour() -> None:
    heading = card_heading(message(), NOW, {ARBITRAGE.id: ARBITRAGE})
    assert heading == f"**{colored(ARBITRAGE.name, ARBITRAGE.color)}** :green-badge[trade] :small[10 s ago]"


def test_card_heading_of_an_unknown_agent_and_kind_is_escaped_and_grey() -> None:
    fields = message(agent_id="ghost", agent_name="G_host", kind="gossip")
    del fields["created_at"]
    assert card_heading(fields, NOW, {}) == "**G\\_host** :gray-badge[gossip]"


@pytest.mark.parametrize(
    ("state", "enable_sse", "last_error", "expected"),
    [
        ("realtime", True, None, ("green", "🟢 Real-time (SSE)", f"connected to {HUB_URL}")),
        ("connecting", True, None, ("gray", "⚪ Connecting", f"to {HUB_URL}")),
        ("polling", False, "stream ended", ("orange", "🟡 Polling (fallback)", "SSE is switched off")),
        ("polling", True, "stream ended", ("orange", "🟡 Polling (fallback)", "stream ended")),
        ("polling", True, None, ("orange", "🟡 Polling (fallback)", "SSE is down")),
        ("error", True, "connection refused", ("red", "🔴 Error", "connection refused")),
        ("error", True, None, ("red", "🔴 Error", "no connection to the hub")),
    ],
)
def test_status_pill_says_the_state_and_why(
    state: State, enable_sse: bool, last_error: str | None, expected: tuple[str, str, str]
) -> None:
    assert pill_text(snapshot(state, last_error), enable_sse) == expected


def test_status_pill_reason_is_escaped_small_print_after_the_badge() -> None:
    assert pill_markdown("red", "🔴 Error", "refused [x](y)") == ":red-badge[🔴 Error] :small[refused \\[x\\]\\(y\\)]"


def test_latency_summary_gives_count_median_p90_and_max() -> None:
    assert latency_summary([float(ms) for ms in range(10, 0, -1)]) == (
        "10 deliveries: median 5.5 ms, p90 10.0 ms, max 10.0 ms"
    )


def test_check_rows_give_one_row_per_check_with_its_verdict() -> None:
    results = [CheckResult("stream", True, "open", 0.0123), CheckResult("resume", False, "timed out", 2.0)]
    assert check_rows(results) == [
        {"result": "✅ PASS", "check": "stream", "detail": "open", "seconds": "0.012"},
        {"result": "❌ FAIL", "check": "resume", "detail": "timed out", "seconds": "2.000"},
    ]
