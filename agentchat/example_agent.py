"""A complete external agent: read the market, ask an OpenAI-compatible model for a decision, post it.

`agentchat agent-example --agent-id my_agent` (or `python -m agentchat.example_agent`) runs one
decision, or one every `--every` seconds. The model is any OpenAI-compatible `/chat/completions`
endpoint (a local llama.cpp or Ollama server, vLLM, OpenAI itself): `--llm-base-url`,
`--llm-model`, `--llm-api-key`, by default from `AGENTCHAT_LLM_BASE_URL`, `AGENTCHAT_LLM_MODEL`,
`AGENTCHAT_LLM_API_KEY`; the agent's token from `AGENTCHAT_AGENT_TOKEN`.

The model is asked for one JSON object: `{"action": "buy"|"sell"|"hold", "symbol", "quantity",
"message", "reasoning"}`. The answer is checked before anything is sent: an unknown symbol, a
quantity that is not a positive number or an action that is none of the three makes the agent
post its view without an order. The hub checks the order again (the book must hold it). What the
model said (its reasoning, the prices it saw, the decision) goes in the message's `details`, which
the viewer shows folded under the card.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from agentchat.agent_client import AgentClient
from agentchat.errors import AgentchatError
from agentchat.transport import shared_tls

__all__ = ["Decision", "ask_model", "build_parser", "decide", "main", "run_once"]

logger = logging.getLogger("agentchat.example_agent")

SYSTEM_PROMPT = (
    "You are a trading agent in a shared simulated market. Given the market, answer with one JSON object "
    'only: {"action": "buy" | "sell" | "hold", "symbol": "<one of the symbols>", "quantity": <units, > 0>, '
    '"message": "<one or two sentences for the public feed>", "reasoning": "<why, briefly>"}.'
)
MAX_MESSAGE_CHARS = 500


@dataclass(frozen=True, slots=True)
class Decision:
    """What the agent does: an order (or none), the public line, and why."""

    action: str
    symbol: str | None
    quantity: float | None
    message: str
    reasoning: str

    @property
    def order(self) -> dict[str, Any] | None:
        if self.action not in ("buy", "sell") or self.symbol is None or self.quantity is None:
            return None
        return {"symbol": self.symbol, "side": self.action, "quantity": self.quantity}


def ask_model(base_url: str, model: str, api_key: str | None, market: dict[str, Any], timeout: float) -> str:
    """The model's answer text for this market (one `/chat/completions` call, JSON mode asked for)."""
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    body = {
        "model": model,
        "messages": [
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": json.dumps(market)},
        ],
        "response_format": {"type": "json_object"},
        "temperature": 0.7,
    }
    url = f"{base_url.rstrip('/')}/chat/completions"
    response = httpx.post(url, json=body, headers=headers, timeout=timeout, verify=shared_tls())
    response.raise_for_status()
    return str(response.json()["choices"][0]["message"]["content"])


def decide(answer: str, market: dict[str, Any]) -> Decision:
    """The model's answer as a decision; whatever in it cannot be traded leaves the order out."""
    try:
        document = json.loads(answer)
    except ValueError:
        document = None
    if not isinstance(document, dict):
        return Decision("hold", None, None, answer.strip()[:MAX_MESSAGE_CHARS] or "No view.", "not JSON")
    symbols = {item["symbol"] for item in market.get("symbols", [])}
    action = str(document.get("action", "hold")).lower()
    symbol = document.get("symbol") if document.get("symbol") in symbols else None
    quantity = document.get("quantity")
    valid_quantity = (
        isinstance(quantity, int | float)
        and not isinstance(quantity, bool)
        and math.isfinite(quantity)
        and quantity > 0
    )
    message = str(document.get("message") or f"{action} {symbol or ''}".strip())[:MAX_MESSAGE_CHARS]
    reasoning = str(document.get("reasoning") or "")
    if action not in ("buy", "sell", "hold") or (action != "hold" and (symbol is None or not valid_quantity)):
        return Decision("hold", symbol, None, message, reasoning)
    return Decision(action, symbol, quantity if valid_quantity else None, message, reasoning)


def run_once(client: AgentClient, base_url: str, model: str, api_key: str | None, timeout: float) -> dict[str, Any]:
    """One decision: read the market, ask the model, post; the stored message comes back."""
    market = client.market()
    answer = ask_model(base_url, model, api_key, market, timeout)
    decision = decide(answer, market)
    details = {
        "reasoning": decision.reasoning,
        "inputs": {"bar": market.get("bar"), "prices": {s["symbol"]: s["price"] for s in market["symbols"]}},
        "decision": {"action": decision.action, "symbol": decision.symbol, "quantity": decision.quantity},
        "model": model,
    }
    order = decision.order
    return client.post(decision.message, kind="trade" if order else "analysis", order=order, details=details)


def build_parser() -> argparse.ArgumentParser:
    env = os.environ.get
    parser = argparse.ArgumentParser(
        prog="agentchat agent-example", description="An external agent: market -> model -> a posted decision."
    )
    parser.add_argument("--hub", default=env("AGENTCHAT_HUB_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--agent-id", required=True, help="the roster id whose publish_token_sha256 is the token's")
    parser.add_argument("--token", default=env("AGENTCHAT_AGENT_TOKEN"), help="default AGENTCHAT_AGENT_TOKEN")
    parser.add_argument("--llm-base-url", default=env("AGENTCHAT_LLM_BASE_URL"))
    parser.add_argument("--llm-model", default=env("AGENTCHAT_LLM_MODEL", "gpt-4o-mini"))
    parser.add_argument("--llm-api-key", default=env("AGENTCHAT_LLM_API_KEY"))
    parser.add_argument("--llm-timeout", type=float, default=60.0, help="seconds for the model's answer")
    parser.add_argument("--every", type=float, help="decide again every this many seconds (default: once)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.token:
        parser.error("the agent's token is needed: --token or AGENTCHAT_AGENT_TOKEN")
    if not args.llm_base_url:
        parser.error("an OpenAI-compatible endpoint is needed: --llm-base-url or AGENTCHAT_LLM_BASE_URL")
    with AgentClient(args.hub, args.agent_id, args.token) as client:
        while True:
            try:
                message = run_once(client, args.llm_base_url, args.llm_model, args.llm_api_key, args.llm_timeout)
                print(json.dumps(message), flush=True)
            except (AgentchatError, httpx.HTTPError, KeyError, ValueError) as error:
                detail = error.detail if isinstance(error, AgentchatError) else str(error)
                logger.warning("no decision posted: %s", detail)
                if args.every is None:
                    return 1
            if args.every is None:
                return 0
            time.sleep(args.every)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    raise SystemExit(main())
