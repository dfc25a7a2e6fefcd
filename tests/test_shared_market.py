"""One market for every hub: rounds through several hubs on one store, restarts, and the books API.

Real hubs (in this process, on free ports) on a real SQLite file or the local PostgreSQL. The
price path is checked against `Market(seed)` stepped bar by bar: a market's bar N depends only on
its seed and N, so one continuous market is exactly that path, whichever hub made each round. The
books are checked by replaying every trade message (`tests/kit/market_replay.py`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from agentchat.agents import BUILTIN_ROSTER
from agentchat.hub.book_frames import merge_book_frame
from agentchat.market.books import Book
from agentchat.market.prices import Market
from agentchat.market.storage import SimulationStore
from agentchat.store import create_store_engine
from tests.kit import web
from tests.kit.hubs import InProcessHub
from tests.kit.market_calls import generate, performance
from tests.kit.market_replay import book_entry, fill_from_meta, ranked_entries
from tests.kit.sse import SseReader

StartHub = Callable[..., InProcessHub]
AGENTS = len(BUILTIN_ROSTER)


def stored_seed(database_url: str) -> int:
    engine = create_store_engine(database_url)
    try:
        stored = SimulationStore(engine).current()
    finally:
        engine.dispose()
    assert stored is not None
    return stored.state.seed


def price_path(seed: int, bars: int) -> list[dict[str, float]]:
    """The prices after each of the first `bars` bars of the market with `seed`."""
    market = Market(seed)
    return [{symbol: quote.price for symbol, quote in market.step().quotes.items()} for _ in range(bars)]


def assert_one_price_path(database_url: str, rounds: list[list[dict[str, Any]]]) -> None:
    """Round k's messages (in id order) quote bar k of the stored market's one path."""
    path = price_path(stored_seed(database_url), len(rounds))
    for bar, messages in enumerate(rounds):
        for message in messages:
            assert message["meta"]["price"] == path[bar][message["meta"]["symbol"]], (bar + 1, message)


def rounds_in_id_order(messages: list[dict[str, Any]], sizes: Sequence[int]) -> list[list[dict[str, Any]]]:
    ordered = sorted(messages, key=lambda message: int(message["id"]))
    rounds, start = [], 0
    for size in sizes:
        rounds.append(ordered[start : start + size])
        start += size
    return rounds


def replayed_entries(messages: list[dict[str, Any]], prices: dict[str, float]) -> dict[str, dict[str, Any]]:
    """Every agent's book rebuilt from the fills its messages announce, from an empty book."""
    books: dict[str, Book] = {agent.id: Book() for agent in BUILTIN_ROSTER}
    for message in sorted(messages, key=lambda message: int(message["id"])):
        fill = fill_from_meta(message["meta"])
        if fill is not None:
            books[message["agent_id"]], _ = books[message["agent_id"]].filled(fill)
    return {agent_id: book_entry(agent_id, book, prices) for agent_id, book in books.items()}


def without_drawdown(entry: dict[str, Any]) -> dict[str, Any]:
    """What a replay of fills can rebuild: all but the drawdown, which needs every round's marks."""
    return {key: value for key, value in entry.items() if key != "max_drawdown_pct"}


def assert_books_are_the_replay_of(report: dict[str, Any], messages: list[dict[str, Any]]) -> None:
    replayed = replayed_entries(messages, report["prices"])
    assert {e["agent_id"]: without_drawdown(e) for e in report["agents"]} == {
        agent_id: without_drawdown(entry) for agent_id, entry in replayed.items()
    }


@pytest.mark.postgres
def test_rounds_through_two_hubs_alternately_make_one_price_path(start_hub: StartHub, postgres_url: str) -> None:
    hubs = [start_hub(database_url=postgres_url), start_hub(database_url=postgres_url)]
    rounds = [generate(hubs[number % 2]) for number in range(10)]
    assert [performance(hub)["round"] for hub in hubs] == [10, 10]
    assert_one_price_path(postgres_url, rounds)


@pytest.mark.postgres
def test_both_hubs_report_the_books_that_replaying_every_trade_of_both_gives(
    start_hub: StartHub, postgres_url: str
) -> None:
    hubs = [start_hub(database_url=postgres_url), start_hub(database_url=postgres_url)]
    made = [message for number in range(12) for message in generate(hubs[number % 2])]
    first, second = performance(hubs[0]), performance(hubs[1])
    assert first == second
    assert sum(entry["trades"] for entry in first["agents"]) > 0
    assert_books_are_the_replay_of(first, made)


def test_concurrent_rounds_on_two_hubs_never_fork_the_market(start_hub: StartHub, database_url: str) -> None:
    """Four threads, two per hub, post at once: every round advances the one stored market once."""
    hubs = [start_hub(database_url=database_url), start_hub(database_url=database_url)]
    per_thread = 6
    made: list[dict[str, Any]] = []
    failures: list[str] = []

    def post_rounds(hub: InProcessHub) -> None:
        for _ in range(per_thread):
            response = hub.generate()
            if response.status_code != 201:
                failures.append(response.text)
            else:
                made.extend(response.json()["messages"])

    threads = [threading.Thread(target=post_rounds, args=(hub,)) for hub in hubs for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert failures == []
    total = per_thread * len(threads)
    report = performance(hubs[0])
    assert report["round"] == total
    assert_one_price_path(database_url, rounds_in_id_order(made, [AGENTS] * total))
    assert_books_are_the_replay_of(report, made)


def test_a_restarted_hub_keeps_the_books_and_goes_on_with_the_same_prices(
    start_hub: StartHub, database_url: str
) -> None:
    first = start_hub(database_url=database_url)
    before = [generate(first) for _ in range(5)]
    books = performance(first)
    first.stop()
    again = start_hub(database_url=database_url)
    assert performance(again) == books
    after = generate(again)
    assert performance(again)["round"] == 6
    assert_one_price_path(database_url, [*before, after])
    assert_books_are_the_replay_of(performance(again), [message for round_ in [*before, after] for message in round_])


def test_a_round_for_some_agents_is_said_in_the_performance_and_moves_everyones_marks(start_hub: StartHub) -> None:
    hub = start_hub()
    for _ in range(4):
        generate(hub)
    before = performance(hub)
    generate(hub, ["claude_arbitrage"])
    after = performance(hub)
    assert after["round"] == before["round"] + 1
    assert after["round_agents"] == ["claude_arbitrage"]
    assert after["prices"] != before["prices"]
    assert {entry["agent_id"] for entry in after["agents"]} == {agent.id for agent in BUILTIN_ROSTER}
    assert [entry["equity"] for entry in after["agents"]] == sorted(
        (entry["equity"] for entry in after["agents"]), reverse=True
    )


def test_before_the_first_round_every_agent_has_its_starting_book(start_hub: StartHub) -> None:
    report = performance(start_hub())
    assert report["round"] == 0
    assert [(e["agent_id"], e["equity"], e["positions"], e["trades"]) for e in report["agents"]] == sorted(
        (agent.id, report["start_equity"], [], 0) for agent in BUILTIN_ROSTER
    )


def test_equity_has_one_point_per_round_and_since_keeps_the_later_ones(start_hub: StartHub) -> None:
    hub = start_hub()
    for _ in range(3):
        generate(hub)
    points = web.get(f"{hub.url}/api/agents/llama_maker/equity", timeout=10).json()["points"]
    assert [point["round"] for point in points] == [1, 2, 3]
    reported = {entry["agent_id"]: entry["equity"] for entry in performance(hub)["agents"]}
    assert points[-1]["equity"] == reported["llama_maker"]
    later = web.get(f"{hub.url}/api/agents/llama_maker/equity", params={"since": points[0]["at"]}, timeout=10)
    assert [point["round"] for point in later.json()["points"]] == [2, 3]


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/api/agents/nobody/equity", 404, "not_found"),
        ("/api/agents/llama_maker/equity?since=yesterday", 400, "bad_request"),
        ("/api/agents/llama_maker/equity?since=2026-13-45T99:00:00Z", 400, "bad_request"),
    ],
)
def test_bad_equity_requests_get_a_json_error(start_hub: StartHub, path: str, status: int, code: str) -> None:
    response = web.get(f"{start_hub().url}{path}", timeout=10)
    assert response.status_code == status
    assert response.json()["error"] == code and response.json()["detail"]


def test_each_round_sends_one_book_frame_with_the_books_the_api_reports(start_hub: StartHub) -> None:
    hub = start_hub()
    reader = SseReader(f"{hub.url}/api/chat/stream?books=1").start()
    try:
        reader.next("ready")
        books: dict[str, dict[str, Any]] = {}
        held: int | None = None
        for _ in range(3):
            generate(hub)
            frame = reader.next("book").data
            books, held = merge_book_frame(books, held, frame)
            report = performance(hub)
            assert (frame["round"], frame["as_of"]) == (report["round"], report["as_of"])
            assert ranked_entries(books.values()) == report["agents"]
        generate(hub)  # a fourth round: any extra frame of the three would come before this round's own
        fourth = performance(hub)["round"]
        extra = []
        while (event := reader.next("book")).data["round"] != fourth:
            extra.append(event.data)
        assert extra == []
    finally:
        reader.close()


def test_a_stream_that_follows_some_agents_gets_only_their_books(start_hub: StartHub) -> None:
    hub = start_hub()
    generate(hub)  # a round before the stream: its full books come first
    reader = SseReader(f"{hub.url}/api/chat/stream?books=1&agents=grok_sentiment,mistral_macro").start()
    try:
        reader.next("ready")
        full = reader.next("book")
        assert full.id is None  # a book frame never moves Last-Event-ID
        assert full.data["full"] is True
        assert sorted(entry["agent_id"] for entry in full.data["agents"]) == ["grok_sentiment", "mistral_macro"]
        generate(hub)
        change = reader.next("book").data
        assert change["full"] is False and set(change["changes"]) <= {"grok_sentiment", "mistral_macro"}
    finally:
        reader.close()


@pytest.mark.postgres
def test_a_round_made_on_one_hub_sends_its_book_frame_on_the_other_too(start_hub: StartHub, postgres_url: str) -> None:
    maker, other = start_hub(database_url=postgres_url), start_hub(database_url=postgres_url)
    reader = SseReader(f"{other.url}/api/chat/stream?books=1").start()
    try:
        reader.next("ready")
        generate(maker)
        books, _held = merge_book_frame({}, None, reader.next("book").data)
        assert ranked_entries(books.values()) == performance(maker)["agents"]
    finally:
        reader.close()


def test_a_replayed_idempotency_key_advances_neither_the_market_nor_the_books(start_hub: StartHub) -> None:
    hub = start_hub()
    first = hub.generate(**{"Idempotency-Key": "slot-1"})
    books = performance(hub)
    again = hub.generate(**{"Idempotency-Key": "slot-1"})
    assert again.json() == first.json()
    assert performance(hub) == books and books["round"] == 1
