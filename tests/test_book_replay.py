"""The property behind `meta.quantity`: replaying the trades from a book snapshot gives the hub's books.

Hypothesis draws a sequence of rounds (each for some of the agents) against one real hub for the
whole module; each example takes the books the API reports as its snapshot, makes its rounds,
reads their messages back from `GET /api/chat/messages`, and replays every fill they announce.
The snapshot is the API's own rounded figures, so money is compared to the cent and average
prices to one unit in the 8th place (where the API rounds them); quantities, trade counts and the
set of open positions exactly.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentchat.agents import BUILTIN_ROSTER
from agentchat.market.books import Book, Position
from tests.kit import web
from tests.kit.hubs import UNBOUNDED, InProcessHub
from tests.kit.market_replay import book_entry, fill_from_meta, replay

AGENT_IDS = [agent.id for agent in BUILTIN_ROSTER]
AVG_PRICE_STEP = 1.01e-8  # one unit in the 8th place, where the API rounds `avg_price`
rounds = st.lists(st.sets(st.sampled_from(AGENT_IDS), min_size=1), min_size=1, max_size=6)


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessHub]:
    database = tmp_path_factory.mktemp("replay") / "agentchat.db"
    # Up to 6 rounds an example, 15 examples and the shrinking after a failure: more than Generate's
    # default 60 rounds a minute, a bound of its own with its own tests (test_generate_rate_limit.py).
    hub = InProcessHub(f"sqlite:///{database}", generate_per_minute=UNBOUNDED).start()
    yield hub
    hub.stop()


def books(hub: InProcessHub) -> dict[str, Any]:
    return dict(web.get(f"{hub.url}/api/agents/performance", timeout=10).json())


def book_from(entry: dict[str, Any]) -> Book:
    """The API's entry as a book to replay onto (the counts of closed and winning trades included)."""
    return Book(
        cash=entry["cash"],
        positions={p["symbol"]: Position(p["quantity"], p["avg_price"]) for p in entry["positions"]},
        realized_pnl=entry["realized_pnl"],
        trades=entry["trades"],
        closed_trades=entry["closed_trades"],
        winning_trades=entry["winning_trades"],
    )


def assert_same_book(replayed: dict[str, Any], reported: dict[str, Any]) -> None:
    for money in ("equity", "cash", "realized_pnl", "unrealized_pnl"):
        assert replayed[money] == pytest.approx(reported[money], abs=0.011), money
    for count in ("trades", "closed_trades", "winning_trades", "win_rate"):
        assert replayed[count] == reported[count], count
    assert [(p["symbol"], p["quantity"]) for p in replayed["positions"]] == [
        (p["symbol"], p["quantity"]) for p in reported["positions"]
    ]
    for mine, theirs in zip(replayed["positions"], reported["positions"], strict=True):
        # Both sides are rounded to 8 places, and the replay starts from the snapshot's rounded price:
        # they may differ by one unit in the 8th place (a relative 1e-8 for a price near 1, as EUR/USD).
        assert mine["avg_price"] == pytest.approx(theirs["avg_price"], rel=1e-9, abs=AVG_PRICE_STEP)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rounds)
def test_replaying_every_trade_since_a_snapshot_gives_the_books_the_hub_reports(
    hub: InProcessHub, rounds: list[set[str]]
) -> None:
    snapshot = books(hub)
    since_id = _last_id(hub)
    for agents in rounds:
        response = hub.generate([agent_id for agent_id in AGENT_IDS if agent_id in agents])
        assert response.status_code == 201, response.text
    messages = hub.messages(since_id=since_id, limit=1000)["messages"]
    reported = books(hub)
    assert reported["round"] == snapshot["round"] + len(rounds)
    before = {entry["agent_id"]: book_from(entry) for entry in snapshot["agents"]}
    for entry in reported["agents"]:
        fills = [
            fill
            for message in messages
            if message["agent_id"] == entry["agent_id"] and (fill := fill_from_meta(message["meta"])) is not None
        ]
        replayed = book_entry(entry["agent_id"], replay(before[entry["agent_id"]], fills), reported["prices"])
        assert_same_book(replayed, entry)


def _last_id(hub: InProcessHub) -> int:
    """The newest message id: every message after it belongs to a round after the snapshot."""
    page = hub.messages(since_id=0, limit=1000)
    while len(page["messages"]) == 1000:
        page = hub.messages(since_id=page["last_id"], limit=1000)
    return int(page["last_id"])
