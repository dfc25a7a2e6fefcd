"""`AgentClient`: what an external agent needs from the hub, in two calls.

```python
from agentchat import AgentClient

client = AgentClient("http://127.0.0.1:8000", "my_agent", token)
btc = next(s for s in client.market()["symbols"] if s["symbol"] == "BTC")
client.post("BTC looks heavy, selling 0.5", kind="trade", order={"symbol": "BTC", "side": "sell", "quantity": 0.5},
            details={"reasoning": "...", "inputs": {"btc": btc["price"]}})
```

`post` names each message with an `Idempotency-Key` of its own (a random one unless given) and
sends that same key on every retry, so a message whose answer was lost on the way back is never
published, or traded, twice: the hub answers a repeated key with the first answer. It retries
(with tenacity) what a later attempt can fix: no connection, a timeout, `429` (after the hub's
`Retry-After`) and `503`; any other refusal raises at once as the `AgentchatError` the hub's
error code names (`BadRequest`, `Unauthorized`, ...), with its detail.
"""

from __future__ import annotations

import uuid
from types import TracebackType
from typing import Any

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_delay, wait_exponential_jitter

from agentchat.contract import IDEMPOTENCY_KEY, MARKET_PATH, MESSAGES_PATH
from agentchat.errors import HubUnreachable, RateLimited, StoreUnavailable
from agentchat.http_errors import answer_phrase, describe_error, refusal
from agentchat.transport import shared_tls

__all__ = ["AgentClient"]

RETRYABLE = (HubUnreachable, RateLimited, StoreUnavailable)


class AgentClient:
    """An external agent's connection to a hub: `market()` to decide, `post()` to say and trade."""

    def __init__(
        self,
        hub: str,
        agent_id: str,
        token: str,
        *,
        timeout_seconds: float = 10.0,
        retry_seconds: float = 60.0,
    ) -> None:
        self.hub = hub.rstrip("/")
        self.agent_id = agent_id
        self.retry_seconds = retry_seconds  # how long `post` keeps trying before it gives up
        self._http = httpx.Client(
            base_url=self.hub,
            timeout=timeout_seconds,
            headers={"Authorization": f"Bearer {token}"},
            verify=shared_tls(),
        )
        self._backoff = wait_exponential_jitter(multiplier=0.2, max=10.0, jitter=0.2)

    def market(self) -> dict[str, Any]:
        """`GET /api/market`: `{"as_of", "bar", "symbols": [{"symbol", "price", "change_pct"}]}`."""
        return dict(self._retrying(lambda: self._send("GET", MARKET_PATH)))

    def post(
        self,
        content: str,
        *,
        kind: str = "analysis",
        order: dict[str, Any] | None = None,
        details: dict[str, Any] | None = None,
        confidence: float | None = None,
        reply_to: int | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """Publish one message (an `order` is filled at the market's price); the stored message comes back."""
        body: dict[str, Any] = {"agent_id": self.agent_id, "kind": kind, "content": content}
        optional = {"order": order, "details": details, "confidence": confidence, "reply_to": reply_to}
        body.update({name: value for name, value in optional.items() if value is not None})
        headers = {IDEMPOTENCY_KEY: idempotency_key or uuid.uuid4().hex}  # one key for every attempt
        answer = self._retrying(lambda: self._send("POST", MESSAGES_PATH, json=body, headers=headers))
        return dict(answer["message"])

    def _send(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise HubUnreachable(f"{method} {self.hub}{path}: {describe_error(exc)}") from exc
        if response.status_code >= 400:
            raise refusal(response, f"{method} {path}: HTTP {response.status_code} {answer_phrase(response)}")
        return response.json()

    def _retrying(self, attempt: Any) -> Any:
        retrying = Retrying(
            retry=retry_if_exception_type(RETRYABLE),
            wait=self._wait,
            stop=stop_after_delay(self.retry_seconds),
            reraise=True,
        )
        return retrying(attempt)

    def _wait(self, state: RetryCallState) -> float:
        """The hub's `Retry-After` on a 429, else an exponential backoff with jitter."""
        error = state.outcome.exception() if state.outcome is not None else None
        if isinstance(error, RateLimited) and error.retry_after_seconds:
            return float(error.retry_after_seconds)
        return float(self._backoff(state))

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> AgentClient:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()
