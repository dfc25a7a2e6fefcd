"""Each body the hub answers with is declared once (`agentchat/hub/bodies.py`), and what it sends fits it.

The hot path encodes messages and pages by hand for speed; these tests hold those bytes to the
models, and the models are what the OpenAPI document shows.
"""

from __future__ import annotations

import httpx
import pytest
from pydantic import ValidationError

from agentchat.agents import BUILTIN_ROSTER
from agentchat.contract import HEALTH_PATH, MESSAGE_PATH, MESSAGES_PAGE_LIMIT, MESSAGES_PATH
from agentchat.hub import bodies
from agentchat.hub.openapi import build_document
from tests.kit.hubs import InProcessHub

ROUNDS = 4  # enough for trades, whose meta carries the quantity and the position after


def test_every_message_of_a_page_and_the_page_itself_fit_their_declarations(hub: InProcessHub) -> None:
    for _ in range(ROUNDS):
        assert hub.generate().status_code == 201
    response = httpx.get(hub.url + MESSAGES_PATH, params={"limit": MESSAGES_PAGE_LIMIT}, timeout=10)
    page = bodies.MessagesPage.model_validate_json(response.content)
    assert len(page.messages) == ROUNDS * len(BUILTIN_ROSTER)
    assert any(message.meta.quantity is not None for message in page.messages)


def test_a_message_by_id_with_its_details_fits_the_declaration(hub: InProcessHub) -> None:
    made = hub.generate().json()["messages"][0]
    response = httpx.get(hub.url + MESSAGE_PATH.format(message_id=made["id"]), timeout=10)
    message = bodies.Message.model_validate_json(response.content)
    assert message.details is not None


def test_the_health_body_fits_its_declaration(hub: InProcessHub) -> None:
    response = httpx.get(hub.url + HEALTH_PATH, timeout=10)
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


@pytest.mark.parametrize("name", ["Message", "MessageMeta", "MessagesPage", "Health"])
def test_the_document_shows_each_declared_body_as_its_model_does(name: str) -> None:
    schemas = build_document(BUILTIN_ROSTER, token_required=False)["components"]["schemas"]
    schema = getattr(bodies, name).model_json_schema()
    assert list(schemas[name]["properties"]) == list(schema["properties"])
    assert schemas[name].get("required", []) == schema.get("required", [])
