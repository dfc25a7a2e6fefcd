"""`AGENTCHAT_LLM_DECIDES=true`: the model decides each simulated agent's trade, not only its words.

Each agent's model is asked, before the round takes the lock, for one JSON object: `{"action":
"buy"|"sell"|"hold", "symbol", "quantity", "message", "reasoning"}`, given the bar the round will
trade at and the agent's book. The answer is turned into the very body an external agent would
publish and checked by the same code (`PublishRequest.parse`: kind, text limits, known symbol,
quantity), and under the lock the fill is checked against the same order rule (`market/trading.py`:
`execute`). Whatever fails (no answer, not JSON, a rule broken, or another round came in between so
the bar is not the one the model saw) falls back to the engine's own decision for that agent, logged
and counted (`agentchat_llm_decisions_invalid_total`). So the chat line is the model's own and can
never contradict the trade: both come from the one decision.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from agentchat.agents import Agent
from agentchat.errors import BadRequest
from agentchat.hub.publish import PublishRequest
from agentchat.market.books import Book
from agentchat.market.prices import MarketSnapshot
from agentchat.transport import shared_tls

__all__ = ["DECISION_PROMPT", "ModelDecider", "decision_request"]

logger = logging.getLogger("agentchat.hub.decisions")

DECISION_PROMPT = (
    "You are {name}, a {strategy} trader in a shared simulated market. Decide this bar's trade. Answer with "
    'one JSON object only: {{"action": "buy" | "sell" | "hold", "symbol": "<a symbol>", "quantity": <units>, '
    '"message": "<one or two sentences for the public feed, consistent with the action>", '
    '"reasoning": "<why>"}}. Your book after the trade must keep gross exposure within 2 x equity.'
)
MAX_ANSWER_BYTES = 64 * 1024


def decision_request(agent: Agent, answer: str) -> PublishRequest:
    """The model's answer as the body an external agent would publish, checked by the same rules."""
    try:
        document = json.loads(answer)
    except ValueError:
        raise BadRequest("the answer is not JSON") from None
    if not isinstance(document, dict):
        raise BadRequest("the answer is not a JSON object")
    action = document.get("action")
    body: dict[str, Any] = {
        "agent_id": agent.id,
        "kind": "trade" if action in ("buy", "sell") else "analysis",
        "content": document.get("message"),
        "details": {"reasoning": str(document.get("reasoning") or ""), "decision": document, "decided_by": "model"},
    }
    if action in ("buy", "sell"):
        body["order"] = {"symbol": document.get("symbol"), "side": action, "quantity": document.get("quantity")}
    elif action != "hold":
        raise BadRequest(f"action {str(action)[:20]!r} is none of buy, sell, hold")
    return PublishRequest.parse(body)


def _market_view(market: MarketSnapshot, book: Book) -> dict[str, Any]:
    return {
        "bar": market.bar,
        "symbols": [
            {"symbol": q.symbol, "price": q.price, "change_pct": round(q.move_pct, 4), "zscore": round(q.zscore, 3)}
            for q in market.quotes.values()
        ],
        "book": {"cash": round(book.cash, 2), "positions": {s: p.quantity for s, p in book.positions.items()}},
    }


class ModelDecider:
    """Asks an OpenAI-compatible endpoint for each agent's decision (see the module docstring)."""

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None,
        timeout_seconds: float,
        on_invalid: Callable[[], None] | None = None,
    ) -> None:
        self.url = f"{base_url.rstrip('/')}/chat/completions"
        self.model = model
        self.headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.timeout = timeout_seconds
        self.on_invalid = on_invalid

    def rejected(self, agent: Agent, reason: str) -> None:
        """An answer not used: the engine decides for `agent` this round."""
        logger.warning("model decision for %s not used (%s); the engine's decision stands", agent.id, reason)
        if self.on_invalid is not None:
            self.on_invalid()

    def decide(
        self, agents: Sequence[Agent], market: MarketSnapshot, books: Mapping[str, Book]
    ) -> dict[str, PublishRequest]:
        """Each agent's checked decision; an agent missing from the answer falls back (already counted)."""
        with ThreadPoolExecutor(max_workers=max(1, len(agents))) as pool:
            answers = list(pool.map(lambda agent: self._ask(agent, market, books.get(agent.id) or Book()), agents))
        decided: dict[str, PublishRequest] = {}
        for agent, answer in zip(agents, answers, strict=True):
            try:
                if answer is None:
                    raise BadRequest("no answer")
                decided[agent.id] = decision_request(agent, answer)
            except BadRequest as error:
                self.rejected(agent, error.detail)
        return decided

    def _ask(self, agent: Agent, market: MarketSnapshot, book: Book) -> str | None:
        body = {
            "model": self.model,
            "messages": [
                {"role": "system", "content": DECISION_PROMPT.format(name=agent.name, strategy=agent.strategy)},
                {"role": "user", "content": json.dumps(_market_view(market, book))},
            ],
            "response_format": {"type": "json_object"},
        }
        try:
            response = httpx.post(self.url, json=body, headers=self.headers, timeout=self.timeout, verify=shared_tls())
            response.raise_for_status()
            if len(response.content) > MAX_ANSWER_BYTES:
                return None
            return str(response.json()["choices"][0]["message"]["content"])
        except (httpx.HTTPError, ValueError, KeyError, IndexError, TypeError) as error:
            logger.warning("model decision for %s failed: %s", agent.id, str(error)[:200])
            return None
