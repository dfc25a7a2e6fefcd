"""What a test asks a hub's market over HTTP: a round (`generate`), the books (`performance`, one
agent's `book`), and an external agent's publish (`post`, with an `order_body`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from tests.kit import web
from tests.kit.hubs import InProcessHub
from tests.kit.roster import TOKENS

__all__ = ["book", "generate", "order_body", "performance", "post"]


def performance(hub: InProcessHub) -> dict[str, Any]:
    response = web.get(f"{hub.url}/api/agents/performance", timeout=10)
    assert response.status_code == 200, response.text
    return dict(response.json())


def generate(hub: InProcessHub, agents: Sequence[str] | None = None) -> list[dict[str, Any]]:
    response = hub.generate(agents)
    assert response.status_code == 201, response.text
    return list(response.json()["messages"])


def post(hub: InProcessHub, body: Any, token: str | None = TOKENS["alpha"], **headers: str) -> httpx.Response:
    sent = dict(headers)
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    return web.post(f"{hub.url}/api/chat/messages", json=body, headers=sent, timeout=30)


def book(hub: InProcessHub, agent_id: str) -> dict[str, Any]:
    response = web.get(f"{hub.url}/api/agents/performance", timeout=10)
    assert response.status_code == 200, response.text
    return dict(next(entry for entry in response.json()["agents"] if entry["agent_id"] == agent_id))


def order_body(symbol: str = "BTC", side: str = "buy", quantity: float = 2, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "agent_id": "alpha",
        "kind": "trade",
        "content": f"{side} {quantity} {symbol}: breakout confirmed",
    }
    body["order"] = {"symbol": symbol, "side": side, "quantity": quantity}
    return {**body, **extra}
