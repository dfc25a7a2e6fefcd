"""`AGENTCHAT_LLM_DECIDES=true`: the model decides the simulated agents' trades, checked like an external order.

A real hub with a tiny OpenAI-compatible server (`tests/kit/fake_model.py`, not part of agentchat) that answers
each agent differently: a valid decision, an order the book cannot hold, and an answer that is not
JSON. The valid one becomes the agent's message, fill and details; the others fall back to the
engine's decision, counted in `/metrics`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.kit import web
from tests.kit.fake_model import FakeModel, serving
from tests.kit.hubs import InProcessHub
from tests.kit.sse import SseReader

StartHub = Callable[..., InProcessHub]
VALID = {
    "action": "buy",
    "symbol": "SOL",
    "quantity": 10,
    "message": "Buying 10 SOL: the basis is wide and flow is with me.",
    "reasoning": "basis 12 bps over fees; flow +0.4",
}
TOO_BIG = {**VALID, "symbol": "BTC", "quantity": 1_000_000, "message": "All in on BTC."}
ANSWERS = {"Claude Arbitrage": json.dumps(VALID), "GPT-4 Momentum": json.dumps(TOO_BIG)}  # others: not JSON


def _answer(body: dict[str, Any]) -> str:
    """Each agent's answer, found by its name in the system prompt."""
    system = body["messages"][0]["content"]
    name = next((name for name in ANSWERS if name in system), "")
    return ANSWERS.get(name, "I would rather hold, honestly.")


@pytest.fixture
def model() -> Iterator[FakeModel]:
    with serving(_answer) as server:
        yield server


def test_the_models_valid_decision_is_the_trade_and_an_invalid_one_falls_back_to_the_engine(
    start_hub: StartHub, model: FakeModel
) -> None:
    hub = start_hub(llm_base_url=model.url, llm_model="decider", llm_decides=True)
    made = hub.generate(["claude_arbitrage", "chatgpt_openai", "gemini_reversion"])
    assert made.status_code == 201, made.text
    claude, gpt, gemini = made.json()["messages"]
    assert len(model.requests) == 3
    market = web.get(f"{hub.url}/api/market", timeout=10).json()
    sol = next(item["price"] for item in market["symbols"] if item["symbol"] == "SOL")
    assert claude["content"] == VALID["message"] and claude["kind"] == "trade"
    assert claude["meta"] == {**claude["meta"], "symbol": "SOL", "side": "buy", "quantity": 10, "price": sol}
    performance = web.get(f"{hub.url}/api/agents/performance", timeout=10).json()["agents"]
    claude_book = next(entry for entry in performance if entry["agent_id"] == "claude_arbitrage")
    assert [(p["symbol"], p["quantity"]) for p in claude_book["positions"]] == [("SOL", 10)]
    assert all(message["content"] not in (TOO_BIG["message"],) for message in (gpt, gemini))
    assert hub.metric("agentchat_llm_decisions_invalid_total") == 2
    replay = SseReader(f"{hub.url}/api/chat/stream?details=1&last_event_id=0").start()
    replay.next("ready")
    why = {event.data["agent_id"]: event.data["details"] for event in (replay.next("message") for _ in range(3))}
    assert why["claude_arbitrage"]["decided_by"] == "model"
    assert why["claude_arbitrage"]["reasoning"] == VALID["reasoning"]
    assert "signal" in why["chatgpt_openai"] and "signal" in why["gemini_reversion"]  # the engine's own
