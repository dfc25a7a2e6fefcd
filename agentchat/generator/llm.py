"""The optional LLM generator: an OpenAI-compatible chat completions endpoint phrases each message.

The LLM writes words, not decisions. Each round the offline generator decides everything that has
to be consistent (`next_round`): the market bar, each agent's trade and book, whom it answers, and
`meta` (symbol, side, quantity, price, confidence, reply_to). The LLM is then asked (`phrase`), once
per agent and all agents at once, to say that draft in the agent's voice, given a persona prompt,
the market and the recent conversation. So `meta` always matches the simulation, and an agent whose
call fails still has its message: the offline draft, with the failure logged and counted
(`agentchat_llm_failures_total`). The hub phrases a round before it takes the store's lock and
keeps a phrasing only for a draft the round, decided again under the lock, still makes
(`market/round.py`), so a slow model never holds the lock that orders every hub's rounds.

The answer is untrusted text from the network. It is never interpreted: it becomes one line of plain
text (control and format characters removed, whitespace collapsed) capped at `message`'s
MAX_CONTENT_CHARS (500) and MAX_CONTENT_JSON_BYTES (500), so a stored message keeps SPEC section 4's
1 KiB wire budget even when the model answers in quotes, CJK or emoji. Markup stays as literal
characters; showing them as text is the dashboard's job, as it is for every message.

Each call has its own deadline (`AGENTCHAT_LLM_TIMEOUT_SECONDS`, for the whole call, not per read),
and the calls of one round run concurrently, so a round takes about one call's time at most.
A failed call's reason includes what the provider said (the `error.message` of its body, with the
API key masked), and each round's outcome is kept in `health` (`health.py`), which `/healthz` and
the dashboard show: a model that fails is visible, not only counted. A message the model wrote
carries `meta.writer: "llm"`; the hub marks every other one `"offline"`.
The hub runs `phrase` in a worker thread of the model's own (`market/round.py`), which has no event
loop: the round's calls get an event loop and an HTTP client of their own, closed when the round is
done.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import unicodedata
from collections.abc import Callable, Sequence
from typing import Any

import httpx

from agentchat.agents import Agent
from agentchat.errors import ConfigError
from agentchat.generator.health import WriterHealth
from agentchat.generator.offline import OfflineGenerator
from agentchat.market.generation import SimulatedRound
from agentchat.market.prices import MarketSnapshot
from agentchat.market.state import SimulationState
from agentchat.message import MAX_CONTENT_CHARS, MAX_CONTENT_JSON_BYTES, Draft, Message
from agentchat.settings import Settings
from agentchat.transport import shared_tls

__all__ = ["BadAnswer", "LlmGenerator", "answer_text", "persona_prompt", "plain_text", "situation_prompt"]

logger = logging.getLogger("agentchat.generator.llm")

MAX_TOKENS = 160  # a chat line, not an essay; also bounds what a slow model can make us wait for
TEMPERATURE = 0.8
RECENT_IN_PROMPT = 8
RECENT_CHARS = 240
MAX_CONCURRENT_CALLS = 8
MAX_ANSWER_BYTES = 64 * 1024  # a chat completion of MAX_TOKENS is a few KiB; more is not read
MAX_ERROR_BYTES = 4096  # of a refusal's body, for its message
MAX_REASON_CHARS = 200
ELLIPSIS = "…"
_DROPPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co"})  # control, format (bidi overrides), surrogates, private
_QUOTES = {'"': '"', "'": "'", "“": "”", "‘": "’", "«": "»"}

STRATEGY_BRIEFS = {
    "arbitrage": "arbitrage: price gaps between venues, spot against perpetuals, basis and funding",
    "momentum": "momentum: riding trends and breakouts, cutting what stops working",
    "mean_reversion": "mean reversion: fading stretched moves back toward the average",
    "market_making": "market making: quoting both sides, reading order flow, keeping inventory in check",
    "macro": "macro: rates, the dollar and risk appetite, expressed through a few liquid markets",
    "sentiment": "sentiment: social and news flow, going with the crowd and fading it at extremes",
}


class BadAnswer(Exception):
    """The endpoint answered, but not with a usable chat completion."""


def plain_text(answer: str) -> str:
    """The model's answer as one line of plain text within the caps; '' if nothing printable is left."""
    text = unicodedata.normalize("NFC", answer)
    kept = [
        " " if ch.isspace() else ch
        for ch in text
        if ch.isspace() or unicodedata.category(ch) not in _DROPPED_CATEGORIES
    ]
    text = " ".join("".join(kept).split())
    if len(text) >= 2 and _QUOTES.get(text[0]) == text[-1]:  # models like to quote their line
        text = text[1:-1].strip()
    return _fit(text)


def _json_bytes(text: str) -> int:
    return len(json.dumps(text, ensure_ascii=False).encode()) - 2


def _fit(text: str) -> str:
    """Cut to MAX_CONTENT_CHARS characters and MAX_CONTENT_JSON_BYTES bytes, at a word if one is near."""
    if len(text) <= MAX_CONTENT_CHARS and _json_bytes(text) <= MAX_CONTENT_JSON_BYTES:
        return text
    budget = MAX_CONTENT_JSON_BYTES - _json_bytes(ELLIPSIS)
    kept: list[str] = []
    for ch in text:
        cost = _json_bytes(ch)
        if len(kept) + 1 >= MAX_CONTENT_CHARS or cost > budget:
            break
        kept.append(ch)
        budget -= cost
    cut = "".join(kept)
    space = cut.rfind(" ")
    if space > 0 and space >= len(cut) - 40:
        cut = cut[:space]
    return cut.rstrip() + ELLIPSIS


def persona_prompt(agent: Agent) -> str:
    brief = STRATEGY_BRIEFS.get(agent.strategy, agent.strategy)
    return (
        f"You are {agent.name}, an autonomous AI trading agent. Your strategy is {brief}. "
        "You post in a chat room where trading agents share market views and trades while operators watch.\n"
        "Write your next chat message in your own voice: one to three sentences, under 300 characters, "
        "plain text only (no markdown, lists, hashtags, emoji or surrounding quotes).\n"
        "Use only the facts you are given. Keep every number, symbol and side exactly as given; "
        "never invent prices, positions or trades."
    )


def situation_prompt(draft: Draft, market: MarketSnapshot, recent: Sequence[Message]) -> str:
    """The market, the decision already taken (the offline draft) and the conversation, for one agent."""
    meta = draft.meta
    lines = [
        f"Market (simulated), bar {market.bar}: {market.regime} regime, US 10y {market.us10y_pct:.2f}% "
        f"({market.us10y_change_bps:+.1f} bps on the bar)."
    ]
    quote = market.quotes.get(str(meta.get("symbol")))
    if quote is not None:
        lines.append(
            f"{quote.symbol}: {quote.price_text}, {quote.move_pct:+.2f}% on the bar, "
            f"{quote.window_change_pct:+.2f}% over the recent window."
        )
    side = f", side {meta['side']}" if meta.get("side") else ""
    lines.append(
        f"Your message this round is a {draft.kind} about {meta.get('symbol')}{side}, "
        f"confidence {meta.get('confidence')}. What it must say: {draft.content}"
    )
    reply_to = meta.get("reply_to")
    target = next((message for message in recent if message.id == reply_to), None)
    if target is not None:
        lines.append(f"You are answering {target.agent_name}, who wrote: {target.content[:RECENT_CHARS]}")
    conversation = [f"{message.agent_name}: {message.content[:RECENT_CHARS]}" for message in recent[-RECENT_IN_PROMPT:]]
    if conversation:
        lines.append("Recent conversation, oldest first:")
        lines.extend(conversation)
    lines.append("Now write your message.")
    return "\n".join(lines)


def answer_text(document: Any) -> str:
    """`choices[0].message.content` of a chat completion, cleaned; `BadAnswer` if there is none."""
    try:
        content = document["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        raise BadAnswer("no choices[0].message.content in the answer") from None
    if not isinstance(content, str):
        raise BadAnswer("choices[0].message.content is not a string")
    text = plain_text(content)
    if not text:
        raise BadAnswer("the answer is empty once cleaned")
    return text


class LlmGenerator:
    """Offline drafts, phrased by an OpenAI-compatible endpoint; the draft itself when a call fails."""

    def __init__(
        self,
        base_url: str,
        model: str | None,
        api_key: str | None = None,
        timeout_seconds: float = 20.0,
        on_failure: Callable[[], None] | None = None,
        offline: OfflineGenerator | None = None,
    ) -> None:
        if not model:
            raise ConfigError("AGENTCHAT_LLM_MODEL must be set when AGENTCHAT_LLM_BASE_URL is (the endpoint needs one)")
        self.url = f"{base_url.rstrip('/')}/chat/completions"
        self.model = model
        self.timeout_seconds = timeout_seconds
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._api_key = api_key
        self._on_failure = on_failure or (lambda: None)
        self.offline = offline or OfflineGenerator()
        self.health = WriterHealth()

    @classmethod
    def from_settings(cls, settings: Settings, on_failure: Callable[[], None] | None = None) -> LlmGenerator:
        if not settings.llm_base_url:
            raise ConfigError("AGENTCHAT_LLM_BASE_URL is not set")
        api_key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
        return cls(settings.llm_base_url, settings.llm_model, api_key, settings.llm_timeout_seconds, on_failure)

    phrases = True  # `phrase` calls the model: the hub does it before it takes the store's lock

    def next_round(self, state: SimulationState, agents: Sequence[Agent], recent: Sequence[Message]) -> SimulatedRound:
        """The offline generator's round: the simulation decides, the model only phrases."""
        return self.offline.next_round(state, agents, recent)

    def phrase(self, simulated: SimulatedRound, agents: Sequence[Agent], recent: Sequence[Message]) -> list[Draft]:
        """One draft per agent, in the order given; call from a thread without a running event loop."""
        return asyncio.run(self._phrase_round(agents, simulated.drafts, simulated.market, recent))

    async def _phrase_round(
        self, agents: Sequence[Agent], drafts: list[Draft], market: MarketSnapshot, recent: Sequence[Message]
    ) -> list[Draft]:
        limit = asyncio.Semaphore(MAX_CONCURRENT_CALLS)
        client = httpx.AsyncClient(headers=self._headers, timeout=self.timeout_seconds, verify=shared_tls())
        async with client:

            async def phrase(agent: Agent, draft: Draft) -> tuple[Draft, str | None]:
                async with limit:
                    return await self._phrase(client, agent, draft, market, recent)

            outcomes = await asyncio.gather(
                *(phrase(agent, draft) for agent, draft in zip(agents, drafts, strict=True))
            )
        failures = [reason for _draft, reason in outcomes if reason is not None]
        if failures:
            self.health.failed(failures[0])
        else:
            self.health.succeeded()
        return [draft for draft, _reason in outcomes]

    async def _read_answer(self, client: httpx.AsyncClient, body: dict[str, Any]) -> bytes:
        """The answer's body, at most MAX_ANSWER_BYTES of it (`BadAnswer` past that or on a non-200)."""
        async with client.stream("POST", self.url, json=body) as response:
            if response.status_code != 200:
                said = await self._error_message(response)
                raise BadAnswer(f"HTTP {response.status_code}" + (f": {said}" if said else ""))
            received = bytearray()
            async for chunk in response.aiter_bytes():
                received += chunk
                if len(received) > MAX_ANSWER_BYTES:
                    raise BadAnswer(f"the answer is over {MAX_ANSWER_BYTES} bytes")
            return bytes(received)

    async def _error_message(self, response: httpx.Response) -> str:
        """What a refusal's body says (`error.message`, or its text), one short line, the API key masked."""
        received = bytearray()
        async for chunk in response.aiter_bytes():
            received += chunk
            if len(received) >= MAX_ERROR_BYTES:
                break
        text = bytes(received[:MAX_ERROR_BYTES]).decode("utf-8", "replace")
        try:
            document = json.loads(text)
        except ValueError:
            said = text
        else:
            error = document.get("error", document) if isinstance(document, dict) else document
            said = error.get("message", error) if isinstance(error, dict) else error
            said = said if isinstance(said, str) else json.dumps(said)
        if self._api_key:
            said = said.replace(self._api_key, "***")
        return plain_text(said)[:MAX_REASON_CHARS]

    async def _phrase(
        self, client: httpx.AsyncClient, agent: Agent, draft: Draft, market: MarketSnapshot, recent: Sequence[Message]
    ) -> tuple[Draft, str | None]:
        """The draft in the model's words (`meta.writer` "llm"), or unchanged with the reason it is not."""
        body = {
            "model": self.model,
            "messages": [
                {"role": "system", "content": persona_prompt(agent)},
                {"role": "user", "content": situation_prompt(draft, market, recent)},
            ],
            "max_tokens": MAX_TOKENS,
            "temperature": TEMPERATURE,
            "stream": False,
        }
        try:
            async with asyncio.timeout(self.timeout_seconds):  # the whole call: connect, answer, parsing
                raw = await self._read_answer(client, body)
                text = answer_text(json.loads(raw))
        except TimeoutError:
            reason = f"no answer within {self.timeout_seconds:g} s"
        except httpx.HTTPError as exc:
            reason = f"{type(exc).__name__}: {exc or 'no detail'}"
        except ValueError:
            reason = "the answer is not JSON"
        except BadAnswer as exc:
            reason = str(exc)
        else:
            return dataclasses.replace(draft, content=text, meta={**draft.meta, "writer": "llm"}), None
        reason = reason[:MAX_REASON_CHARS]
        logger.warning("LLM call for %s failed (%s); the offline text is used", agent.id, reason)
        self._on_failure()
        return draft, reason
