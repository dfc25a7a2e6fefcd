"""`event: book` only for the streams that ask (`?books=1`): full books when live, then each round's changes.

Real hubs in this process on a fresh SQLite file, real SSE clients (sseclient-py over httpx). "No
book frame" is shown without waiting for quiet: a stream's bytes arrive in the order the hub sent
them, so once a later round's messages have arrived, any book frame of the rounds before would have
arrived ahead of them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from agentchat.hub.book_frames import book_change, merge_book_frame
from tests.kit import web
from tests.kit.hubs import InProcessHub
from tests.kit.market_calls import generate, performance
from tests.kit.market_replay import ranked_entries
from tests.kit.sse import Event, SseReader

StartHub = Callable[..., InProcessHub]


def books_of_round(reader: SseReader, wanted: int) -> tuple[dict[str, dict[str, Any]], int]:
    """The books merged from a new book stream's frames (the first one full) up to round `wanted`."""
    first = reader.next("book")
    assert first.id is None and first.data["full"] is True  # a book frame never moves Last-Event-ID
    books, held = merge_book_frame({}, None, first.data)
    while held < wanted:
        books, held = merge_book_frame(books, held, reader.next("book").data)
    return books, held


def events_through(reader: SseReader, message_id: int) -> list[Event]:
    """Every event up to and including the message `message_id`."""
    seen: list[Event] = []
    while True:
        event = reader.next()
        seen.append(event)
        if event.event == "message" and event.data["id"] == message_id:
            return seen


def test_only_a_stream_that_asks_gets_book_frames_each_round_once(start_hub: StartHub) -> None:
    hub = start_hub()
    plain = SseReader(f"{hub.url}/api/chat/stream").start()
    booked = SseReader(f"{hub.url}/api/chat/stream?books=1").start()
    try:
        plain.next("ready")
        booked.next("ready")
        rounds = 4
        for number in range(1, rounds + 1):
            generate(hub, ["claude_arbitrage"] if number % 2 else None)
            assert booked.next("book").data["round"] == number  # each round, in order: none skipped
        last = generate(hub)[-1]["id"]  # a later round: its messages come after any earlier book frame
        assert [event.event for event in events_through(plain, last) if event.event == "book"] == []
        after = [event for event in events_through(booked, last) if event.event == "book"]
        assert [event.data["round"] for event in after] in ([], [rounds + 1])  # no round twice
        if not after:
            assert booked.next("book").data["round"] == rounds + 1
    finally:
        plain.close()
        booked.close()


def test_a_book_stream_starts_with_the_full_books_then_merges_changes_to_what_the_api_reports(
    start_hub: StartHub,
) -> None:
    hub = start_hub()
    generate(hub)
    generate(hub)
    reader = SseReader(f"{hub.url}/api/chat/stream?books=1").start()
    try:
        reader.next("ready")
        report = performance(hub)
        books, held = books_of_round(reader, report["round"])
        assert ranked_entries(books.values()) == report["agents"]
        for agents in (["llama_maker"], None, ["grok_sentiment"], None):
            generate(hub, agents)
            change = reader.next("book").data
            assert change["full"] is False and change["round"] == held + 1
            books, held = merge_book_frame(books, held, change)
            report = performance(hub)
            assert ranked_entries(books.values()) == report["agents"]
            assert len(httpx.Response(200, json=change).content) < len(httpx.Response(200, json=report).content)
    finally:
        reader.close()


def test_a_reconnected_book_stream_gets_the_full_books_again(start_hub: StartHub) -> None:
    hub = start_hub()
    first = generate(hub)
    generate(hub)
    reader = SseReader(f"{hub.url}/api/chat/stream?books=1", headers={"Last-Event-ID": str(first[-1]["id"])}).start()
    try:
        reader.next("ready")
        report = performance(hub)
        books, _held = books_of_round(reader, report["round"])
        assert ranked_entries(books.values()) == report["agents"]
    finally:
        reader.close()


def test_the_former_behaviour_sends_full_books_to_every_stream(start_hub: StartHub) -> None:
    hub = start_hub(book_frames="every_stream")
    reader = SseReader(f"{hub.url}/api/chat/stream").start()
    try:
        reader.next("ready")
        generate(hub)
        frame = reader.next("book").data
        report = performance(hub)
        assert frame == {"round": report["round"], "as_of": report["as_of"], "agents": report["agents"]}
    finally:
        reader.close()


def test_a_bad_books_parameter_is_a_json_400(start_hub: StartHub) -> None:
    response = web.get(f"{start_hub().url}/api/chat/stream?books=yes", timeout=10)
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request" and "books" in response.json()["detail"]


def test_a_change_closes_opens_and_remarks_positions_and_merges_back_to_the_same_entry() -> None:
    before = {
        "agent_id": "a",
        "equity": 10.0,
        "cash": 5.0,
        "win_rate": None,
        "positions": [
            {"symbol": "BTC", "quantity": 1.0, "avg_price": 2.0, "mark_price": 3.0, "unrealized_pnl": 1.0},
            {"symbol": "SOL", "quantity": 2.0, "avg_price": 1.0, "mark_price": 1.0, "unrealized_pnl": 0.0},
        ],
    }
    after = {
        "agent_id": "a",
        "equity": 11.0,
        "cash": 5.0,
        "win_rate": 0.5,
        "positions": [
            {"symbol": "BTC", "quantity": 1.0, "avg_price": 2.0, "mark_price": 4.0, "unrealized_pnl": 2.0},
            {"symbol": "ETH", "quantity": 3.0, "avg_price": 5.0, "mark_price": 5.0, "unrealized_pnl": 0.0},
        ],
    }
    change = book_change(before, after)
    assert change == {
        "equity": 11.0,
        "win_rate": 0.5,
        "positions": {
            "BTC": {"mark_price": 4.0, "unrealized_pnl": 2.0},
            "ETH": {"quantity": 3.0, "avg_price": 5.0, "mark_price": 5.0, "unrealized_pnl": 0.0},
            "SOL": None,
        },
    }
    frame = {"round": 2, "full": False, "marks": {"BTC": 4.0}, "changes": {"a": change}}
    del change["positions"]["BTC"]["mark_price"]  # carried by `marks`, as the hub sends it
    books, held = merge_book_frame({"a": before}, 1, frame)
    assert (books, held) == ({"a": after}, 2)
    assert merge_book_frame(books, held, {**frame, "round": 2, "changes": {}}) == (books, 2)  # not newer: ignored


def test_a_stream_that_asks_after_rounds_nobody_asked_for_gets_the_latest_books(start_hub: StartHub) -> None:
    hub = start_hub()
    plain = SseReader(f"{hub.url}/api/chat/stream").start()
    try:
        plain.next("ready")
        for _ in range(3):
            last = generate(hub)[-1]["id"]
        events_through(plain, last)  # every round is through this hub's bus, with no book stream open
    finally:
        plain.close()
    reader = SseReader(f"{hub.url}/api/chat/stream?books=1").start()
    try:
        reader.next("ready")
        books, _held = books_of_round(reader, 3)
        assert ranked_entries(books.values()) == performance(hub)["agents"]
    finally:
        reader.close()
