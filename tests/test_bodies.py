"""Each body the hub answers with is declared once as a model, and what it sends fits it.

The models: `agentchat/hub/bodies.py` (messages, pages, errors, agents, rounds, the health),
`hub/stream_bodies.py` (the stream's ready and heartbeat), `hub/market_bodies.py` (the market, the
books, the book frames, the equity curve), `hub/request_bodies.py` (the bodies the hub reads). The
hot path encodes messages, pages and frames by hand for speed and the cold paths build plain dicts;
these tests hold what a real hub sends to the models, and the models are what the OpenAPI document shows.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import BaseModel, ValidationError

from agentchat.agents import BUILTIN_ROSTER
from agentchat.contract import (
    AGENTS_PATH,
    EQUITY_PATH,
    HEALTH_PATH,
    HISTORY_PATH,
    MARKET_PATH,
    MESSAGE_PATH,
    MESSAGES_PAGE_LIMIT,
    MESSAGES_PATH,
    PERFORMANCE_PATH,
    STREAM_PATH,
    VIEWER_CONFIG_PATH,
)
from agentchat.hub import bodies, market_bodies, request_bodies, stream_bodies
from agentchat.hub.openapi import BODIES, build_document
from agentchat.message import dumps
from agentchat.settings import Settings
from tests.kit import web
from tests.kit.hubs import InProcessHub
from tests.kit.market_calls import order_body, post
from tests.kit.roster import roster_file
from tests.kit.sse import SseReader

ROUNDS = 4  # enough for trades, whose meta carries the quantity and the position after


def test_every_message_of_a_page_and_the_page_itself_fit_their_declarations(hub: InProcessHub) -> None:
    for _ in range(ROUNDS):
        assert hub.generate().status_code == 201
    response = web.get(hub.url + MESSAGES_PATH, params={"limit": MESSAGES_PAGE_LIMIT}, timeout=10)
    page = bodies.MessagesPage.model_validate_json(response.content)
    assert len(page.messages) == ROUNDS * len(BUILTIN_ROSTER)
    assert any(message.meta.quantity is not None for message in page.messages)


def test_a_message_by_id_with_its_details_fits_the_declaration(hub: InProcessHub) -> None:
    made = hub.generate().json()["messages"][0]
    response = web.get(hub.url + MESSAGE_PATH.format(message_id=made["id"]), timeout=10)
    message = bodies.Message.model_validate_json(response.content)
    assert message.details is not None


def test_the_health_body_fits_its_declaration(hub: InProcessHub) -> None:
    response = web.get(hub.url + HEALTH_PATH, timeout=10)
    assert response.status_code == 200
    assert bodies.Health.model_validate_json(response.content).status == "ok"


def test_a_message_with_a_field_the_declaration_does_not_name_or_of_the_wrong_type_does_not_fit() -> None:
    message = {
        "id": 1,
        "agent_id": "claude",
        "agent_name": "Claude",
        "kind": "trade",
        "content": "Buying.",
        "created_at": "2026-11-23T10:15:00.123Z",
        "meta": {"symbol": "BTC", "side": "buy", "quantity": 0.5, "anything": "else"},  # meta is open
    }
    bodies.Message.model_validate(message)
    with pytest.raises(ValidationError):
        bodies.Message.model_validate({**message, "extra": 1})
    with pytest.raises(ValidationError):
        bodies.Message.model_validate({**message, "id": "1"})
    with pytest.raises(ValidationError):
        bodies.Message.model_validate({**message, "created_at": "2026-11-23T10:15:00Z"})


def fits(model: type[BaseModel], response: httpx.Response, status: int = 200) -> Any:
    """`response`'s body as `model` (its bytes as sent), after checking the status."""
    assert response.status_code == status, response.text
    return model.model_validate_json(response.content)


def test_the_cold_bodies_fit_their_declarations(start_hub: Callable[..., InProcessHub], tmp_path: Path) -> None:
    """Every JSON answer outside the stream and the messages page, from a hub with external agents too."""
    hub = start_hub(agents_file=roster_file(tmp_path))
    agents = web.get(hub.url + AGENTS_PATH, timeout=10)
    assert agents.status_code == 200
    assert len([bodies.Agent.model_validate(agent, strict=True) for agent in agents.json()]) == len(agents.json())
    viewer = fits(bodies.ViewerConfig, web.get(hub.url + VIEWER_CONFIG_PATH, timeout=10))
    assert [agent.id for agent in viewer.agents] == [agent["id"] for agent in agents.json()]
    fits(market_bodies.Market, web.get(hub.url + MARKET_PATH, timeout=10))  # the market before the first round
    fits(market_bodies.Performance, web.get(hub.url + PERFORMANCE_PATH, timeout=10))  # the starting books
    for _ in range(ROUNDS):
        fits(bodies.Round, hub.generate(), 201)
    published = fits(bodies.Published, post(hub, order_body(details={"why": "breakout"})), 201)
    assert published.message.meta.quantity is not None and published.message.details is not None
    fits(market_bodies.Market, web.get(hub.url + MARKET_PATH, timeout=10))
    performance = fits(market_bodies.Performance, web.get(hub.url + PERFORMANCE_PATH, timeout=10))
    assert any(entry.positions for entry in performance.agents)
    equity = fits(market_bodies.Equity, web.get(hub.url + EQUITY_PATH.format(agent_id="alpha"), timeout=10))
    assert len(equity.points) == ROUNDS
    page = fits(bodies.HistoryPage, web.get(hub.url + HISTORY_PATH, params={"limit": 5}, timeout=10))
    assert len(page.messages) == 5 and page.next_before_id is not None
    for refused in ("/no/such/path", MESSAGE_PATH.format(message_id="x"), EQUITY_PATH.format(agent_id="nobody")):
        response = web.get(hub.url + refused, timeout=10)
        assert response.status_code in (400, 404)
        fits(bodies.Error, response, response.status_code)


def test_the_streams_events_ready_messages_heartbeats_and_books_fit_their_declarations(hub: InProcessHub) -> None:
    assert hub.generate().status_code == 201  # a round held: the stream's first book frame is the full books
    reader = SseReader(f"{hub.url}{STREAM_PATH}?books=1").start()
    try:
        ready = stream_bodies.Ready.model_validate_json(dumps(reader.next("ready").data))
        assert ready.last_id is not None
        full = market_bodies.BookFull.model_validate_json(dumps(reader.next("book").data))
        assert len(full.agents) == len(BUILTIN_ROSTER)
        stream_bodies.Heartbeat.model_validate_json(dumps(reader.next("heartbeat").data))
        for _ in range(ROUNDS):
            assert hub.generate().status_code == 201
        messages: list[bodies.Message] = []
        changes: list[market_bodies.BookChanges] = []
        while len(messages) < ROUNDS * len(BUILTIN_ROSTER) or len(changes) < ROUNDS:
            event = reader.next()
            if event.event == "message":
                messages.append(bodies.Message.model_validate_json(dumps(event.data)))
            elif event.event == "book":
                changes.append(market_bodies.BookChanges.model_validate_json(dumps(event.data)))
        assert all(change.round > full.round for change in changes)
    finally:
        reader.close()


def test_the_request_bodies_tests_send_fit_their_declarations_and_what_they_forbid_does_not() -> None:
    request_bodies.PublishBody.model_validate(order_body(details={"why": "breakout"}))
    request_bodies.GenerateBody.model_validate({"agents": ["claude_arbitrage"]})
    with pytest.raises(ValidationError):
        request_bodies.PublishBody.model_validate(order_body(extra=1))
    with pytest.raises(ValidationError):
        request_bodies.GenerateBody.model_validate({"agents": []})


@pytest.mark.parametrize("name", sorted(BODIES))
def test_the_document_shows_each_declared_body_as_its_model_does(name: str) -> None:
    schemas = build_document(BUILTIN_ROSTER, token_required=False)["components"]["schemas"]
    schema = BODIES[name].model_json_schema()
    assert list(schemas[name]["properties"]) == list(schema["properties"])
    assert schemas[name].get("required", []) == schema.get("required", [])


@pytest.mark.parametrize("name", ["max_per_agent", "poll_seconds"])
def test_the_viewer_configs_bounds_are_the_settings_own(name: str) -> None:
    setting = Settings.model_fields[name].metadata
    declared = bodies.ViewerConfig.model_fields[name].metadata
    assert setting == declared
