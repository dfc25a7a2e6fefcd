"""External agents: the roster, `GET /api/market` and `POST /api/chat/messages`, on real hubs and real stores.

Each hub runs the built-in simulated agents beside two external agents (`alpha`, `beta`) from a
roster file that holds only their tokens' digests. A publish is checked where a client sees it:
the answer, the stream, the poll, the books (`GET /api/agents/performance`) and the book frame.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agentchat.agents import BUILTIN_ROSTER, load_roster, token_digest
from agentchat.errors import ConfigError
from agentchat.market.books import START_CASH
from agentchat.market.trading import MAX_GROSS_LEVERAGE
from tests.kit import web
from tests.kit.hubs import InProcessHub
from tests.kit.market_calls import book, order_body, post
from tests.kit.roster import TOKENS, roster_file
from tests.kit.sse import SseReader
from tests.kit.waits import wait_until

StartHub = Callable[..., InProcessHub]


@pytest.fixture
def agents_file(tmp_path: Path) -> Path:
    return roster_file(tmp_path)


def market(hub: InProcessHub) -> dict[str, Any]:
    response = web.get(f"{hub.url}/api/market", timeout=10)
    assert response.status_code == 200, response.text
    return dict(response.json())


def price_of(document: dict[str, Any], symbol: str) -> float:
    return float(next(item["price"] for item in document["symbols"] if item["symbol"] == symbol))


def test_external_agents_join_the_roster_and_the_books_but_rounds_never_write_for_them(
    start_hub: StartHub, agents_file: Path
) -> None:
    hub = start_hub(agents_file=agents_file)
    roster = web.get(f"{hub.url}/api/agents", timeout=10).json()
    alpha = next(agent for agent in roster if agent["id"] == "alpha")
    assert alpha == {"id": "alpha", "name": "Agent Alpha", "color": "#336699", "strategy": "LLM swing (gpt-4o)"}
    generated = hub.generate()
    assert generated.status_code == 201, generated.text
    assert {m["agent_id"] for m in generated.json()["messages"]} == {agent.id for agent in BUILTIN_ROSTER}
    refused = hub.generate(["alpha"])
    assert refused.status_code == 400 and "external" in refused.json()["detail"]
    entry = book(hub, "beta")
    assert entry["equity"] == START_CASH and entry["positions"] == [] and entry["trades"] == 0


def test_an_order_fills_at_the_market_price_and_reaches_stream_poll_and_books(
    start_hub: StartHub, agents_file: Path, database_url: str
) -> None:
    hub = start_hub(database_url=database_url, agents_file=agents_file)
    assert hub.generate().status_code == 201
    stream = SseReader(f"{hub.url}/api/chat/stream?books=1").start()
    stream.next("ready")
    quoted = market(hub)
    assert quoted["bar"] == 1 and {"symbol", "price", "change_pct"} <= set(quoted["symbols"][0])
    answer = post(hub, order_body("ETH", "buy", 3, confidence=0.8))
    assert answer.status_code == 201, answer.text
    message = answer.json()["message"]
    meta = message["meta"]
    assert message["agent_id"] == "alpha" and message["agent_name"] == "Agent Alpha"
    assert meta["symbol"] == "ETH" and meta["side"] == "buy" and meta["quantity"] == 3
    assert meta["price"] == price_of(quoted, "ETH") and meta["position_after"] == 3 and meta["confidence"] == 0.8
    seen = stream.next()
    while seen.event != "message" or seen.data["id"] != message["id"]:
        seen = stream.next()
    assert seen.data == message
    frame = stream.next("book")
    alpha_frame = next(entry for entry in frame.data["agents"] if entry["agent_id"] == "alpha")
    assert alpha_frame["positions"][0]["quantity"] == 3
    assert message in hub.messages()["messages"]
    entry = book(hub, "alpha")
    assert entry["positions"][0]["symbol"] == "ETH" and entry["positions"][0]["quantity"] == 3
    assert entry["cash"] == round(START_CASH - 3 * meta["price"], 2) and entry["trades"] == 1
    sold = post(hub, order_body("ETH", "sell", 5))
    assert sold.status_code == 201, sold.text
    assert sold.json()["message"]["meta"]["quantity"] == -5 and sold.json()["message"]["meta"]["position_after"] == -2
    talk = post(hub, {"agent_id": "alpha", "kind": "analysis", "content": "watching ETH"})
    assert talk.status_code == 201 and talk.json()["message"]["meta"]["side"] is None
    assert "quantity" not in talk.json()["message"]["meta"]
    assert book(hub, "alpha")["trades"] == 2


def test_two_hubs_on_one_postgres_agree_on_the_fill_and_the_book(
    start_hub: StartHub, agents_file: Path, postgres_url: str
) -> None:
    first = start_hub(database_url=postgres_url, agents_file=agents_file)
    second = start_hub(database_url=postgres_url, agents_file=agents_file)
    first_round = first.generate()
    assert first_round.status_code == 201
    # On PostgreSQL a hub's fan-out hears of a round by NOTIFY, after the POST is answered: the stream
    # opens once the round is published, so the first message it sees is the order's.
    wait_until(lambda: first.metric("agentchat_messages_published_total") >= len(first_round.json()["messages"]))
    stream = SseReader(f"{first.url}/api/chat/stream").start()
    stream.next("ready")
    assert market(first)["symbols"] == market(second)["symbols"]
    price = price_of(market(first), "SPX")
    answer = post(second, order_body("SPX", "sell", 10))
    assert answer.status_code == 201, answer.text
    message = answer.json()["message"]
    assert message["meta"]["price"] == price
    assert stream.next().data == message
    assert book(first, "alpha") == book(second, "alpha")
    assert book(first, "alpha")["positions"][0]["quantity"] == -10
    assert second.generate().status_code == 201
    after = post(first, order_body("SPX", "buy", 10))
    assert after.json()["message"]["meta"]["price"] == price_of(market(second), "SPX")
    assert after.json()["message"]["meta"]["position_after"] == 0
    assert book(first, "alpha") == book(second, "alpha") and book(first, "alpha")["positions"] == []


def test_every_refusal_has_its_status_and_changes_nothing(start_hub: StartHub, agents_file: Path) -> None:
    hub = start_hub(agents_file=agents_file, publish_per_minute=4)
    plain = {"agent_id": "alpha", "kind": "analysis", "content": "hello"}
    assert post(hub, plain, token=None).status_code == 401
    assert post(hub, plain, token="not-a-token").status_code == 401
    assert post(hub, plain, token=TOKENS["beta"]).status_code == 403
    assert post(hub, {**plain, "agent_id": "claude_arbitrage"}).status_code == 403
    assert post(hub, {**plain, "agent_id": "nobody"}).status_code == 400
    for bad in (
        {**plain, "kind": "shout"},
        {**plain, "content": ""},
        {**plain, "content": "x" * 501},
        {**plain, "confidence": 2},
        {**plain, "extra": 1},
        {**plain, "details": "not an object"},
        {**plain, "details": {"reasoning": "x" * 9000}},
        order_body("DOGE"),
        order_body(quantity=0),
        order_body(quantity=-1),
        order_body(side="hold"),
        order_body("BTC", "buy", 10 * MAX_GROSS_LEVERAGE * START_CASH),  # the book cannot hold it
        [1, 2],
    ):
        answer = post(hub, bad)
        assert answer.status_code == 400, (bad, answer.text)
        assert set(answer.json()) == {"error", "detail"}
    raw = web.post(
        f"{hub.url}/api/chat/messages",
        content=b"{not json",
        headers={"Authorization": f"Bearer {TOKENS['alpha']}", "Content-Type": "application/json"},
        timeout=10,
    )
    assert raw.status_code == 400
    form = web.post(
        f"{hub.url}/api/chat/messages",
        content=b"agent_id=alpha",
        headers={"Authorization": f"Bearer {TOKENS['alpha']}", "Content-Type": "application/x-www-form-urlencoded"},
        timeout=10,
    )
    assert form.status_code == 415
    assert post(hub, {**plain, "content": "y" * 17000}).status_code == 413
    assert post(hub, plain, Origin="https://elsewhere.example").status_code == 403
    assert book(hub, "alpha")["trades"] == 0 and hub.messages()["messages"] == []
    for _ in range(3):  # the order the book could not hold took the minute's first place
        assert post(hub, plain).status_code == 201
    limited = post(hub, plain)
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    assert post(hub, {**plain, "agent_id": "beta"}, token=TOKENS["beta"]).status_code == 201  # per agent


def test_a_replayed_key_returns_the_first_answer_and_changes_nothing(start_hub: StartHub, agents_file: Path) -> None:
    hub = start_hub(agents_file=agents_file)
    first = post(hub, order_body(), **{"Idempotency-Key": "decision-1"})
    assert first.status_code == 201, first.text
    books_after_first = book(hub, "alpha")
    again = post(hub, order_body(), **{"Idempotency-Key": "decision-1"})
    assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true"
    assert again.json() == first.json()
    assert book(hub, "alpha") == books_after_first and len(hub.messages()["messages"]) == 1
    other = post(hub, order_body(quantity=1), **{"Idempotency-Key": "decision-1"})
    assert other.status_code == 422
    beta_same_key = post(
        hub, {**order_body(), "agent_id": "beta"}, token=TOKENS["beta"], **{"Idempotency-Key": "decision-1"}
    )
    assert beta_same_key.status_code == 201 and beta_same_key.json()["message"]["agent_id"] == "beta"
    assert book(hub, "alpha") == books_after_first


def test_the_market_is_one_before_the_first_round(start_hub: StartHub, agents_file: Path, sqlite_url: str) -> None:
    first = start_hub(agents_file=agents_file)
    second = start_hub(database_url=sqlite_url, agents_file=agents_file)
    quoted = market(first)
    assert quoted["bar"] == 0 and market(second) == quoted
    answer = post(second, order_body("GOLD", "buy", 1))
    assert answer.json()["message"]["meta"]["price"] == price_of(quoted, "GOLD")
    assert first.generate().status_code == 201
    assert market(second)["bar"] == 1
    assert book(first, "alpha")["positions"][0]["quantity"] == 1


@pytest.mark.parametrize(
    ("extra", "fault"),
    [
        ('strategy = "x"\npublish_token_sha256 = "abc"', "publish_token_sha256"),
        (f'strategy = "{"y" * 33}"\npublish_token_sha256 = "{"a" * 64}"', "strategy"),
        ('strategy = "free label"', "strategy"),  # a free label needs a token: a simulated agent has a strategy
    ],
)
def test_a_roster_with_a_bad_external_agent_stops_the_start(tmp_path: Path, extra: str, fault: str) -> None:
    path = tmp_path / "agents.toml"
    path.write_text(f'[[agents]]\nid = "ext"\nname = "Ext"\ncolor = "#112233"\n{extra}\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=fault):
        load_roster(path)
    path.write_text(
        f'[[agents]]\nid = "ext"\nname = "Ext"\ncolor = "#112233"\nstrategy = "my LLM"\n'
        f'publish_token_sha256 = "{token_digest("t").upper()}"\n',
        encoding="utf-8",
    )
    (agent,) = load_roster(path)
    assert agent.external and agent.publish_token_sha256 == token_digest("t") and "sha" not in repr(agent)


def test_details_travel_only_to_streams_that_ask_and_come_back_with_the_message(
    start_hub: StartHub, agents_file: Path, database_url: str
) -> None:
    hub = start_hub(database_url=database_url, agents_file=agents_file)
    plain = SseReader(f"{hub.url}/api/chat/stream").start()
    detailed = SseReader(f"{hub.url}/api/chat/stream?details=1").start()
    plain.next("ready")
    detailed.next("ready")
    details = {"reasoning": "<img src=x onerror=alert(1)> breakout", "inputs": {"rsi": 71.5}, "decision": "buy"}
    answer = post(hub, order_body(details=details), **{"Idempotency-Key": "with-details"})
    assert answer.status_code == 201, answer.text
    assert answer.json()["message"]["details"] == details
    without = plain.next("message").data
    assert "details" not in without and without["id"] == answer.json()["message"]["id"]
    assert detailed.next("message").data == answer.json()["message"]
    replay = post(hub, order_body(details=details), **{"Idempotency-Key": "with-details"})
    assert replay.json() == answer.json()
    assert "details" not in hub.messages()["messages"][0]  # the poll keeps the stream's budget
    round_ = hub.generate()
    assert round_.status_code == 201 and all("details" not in m for m in round_.json()["messages"])
    engine = detailed.next("message").data["details"]
    assert {"signal", "thresholds", "rule", "decision", "inputs"} <= set(engine)
    assert "details" not in plain.next("message").data
    published_id = answer.json()["message"]["id"]
    for since in (0, published_id - 1):  # a first load (from the store) and a resume (the window would have it)
        resumed = SseReader(f"{hub.url}/api/chat/stream?details=1&last_event_id={since}").start()
        resumed.next("ready")
        first = resumed.next("message").data
        while first["id"] != published_id:
            first = resumed.next("message").data
        assert first["details"] == details
        assert "details" in resumed.next("message").data  # the round after it, with the engine's numbers


def test_history_the_message_by_id_and_the_exports_carry_details(
    start_hub: StartHub, agents_file: Path, database_url: str
) -> None:
    hub = start_hub(database_url=database_url, agents_file=agents_file)
    details = {"reasoning": 'a, "quoted"\nbreakout', "inputs": {"rsi": 71.5}, "decision": "buy"}
    answer = post(hub, order_body(details=details))
    assert answer.status_code == 201, answer.text
    published = answer.json()["message"]
    talk = post(hub, {"agent_id": "alpha", "kind": "analysis", "content": "watching ETH"}).json()["message"]
    assert "details" not in talk
    one = web.get(f"{hub.url}/api/chat/messages/{published['id']}", timeout=10)
    assert one.status_code == 200 and one.json() == published
    page = web.get(f"{hub.url}/api/chat/history", params={"agents": "alpha"}, timeout=10).json()
    assert page["messages"] == [talk, published]
    lines = web.get(f"{hub.url}/api/chat/history", params={"agents": "alpha", "format": "jsonl"}, timeout=10)
    assert [json.loads(line) for line in lines.text.splitlines()] == [talk, published]
    exported = web.get(f"{hub.url}/api/chat/history", params={"agents": "alpha", "format": "csv"}, timeout=10)
    header, *rows = csv.reader(io.StringIO(exported.text))
    column = header.index("details")
    assert [json.loads(row[column]) if row[column] else None for row in rows] == [None, details]
