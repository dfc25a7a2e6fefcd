"""The few one-off requests the dashboard makes to the hub: the roster, a round, the health, the books.

The live feed goes through `RealtimeAgentMessages`; these are plain requests made while a page
runs, so each has a short timeout (the page waits for it) and every failure becomes one
`AgentchatError` whose `detail` an operator can act on: `HubUnreachable` when nothing answers
(with how to start a hub), else the subclass for the hub's status (401 `Unauthorized`, 503
`StoreUnavailable`, ...) carrying the hub's own `{"error", "detail"}`.

The roster is checked again here although the hub validated it: its colors end up inside
Markdown directives, so anything but `#RRGGBB` is replaced rather than trusted.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from agentchat.agents import Agent
from agentchat.client import describe_error
from agentchat.errors import (
    AgentchatError,
    BadRequest,
    HubUnreachable,
    PayloadTooLarge,
    RequestError,
    StoreUnavailable,
    Unauthorized,
    hub_error_phrase,
)

DEFAULT_TIMEOUT_SECONDS = 5.0
FALLBACK_COLOR = "#9E9E9E"
START_HINT = "start it with `python -m agentchat hub` (or `make run` for hub, scheduler and dashboard together)"
_HEX_COLOR = re.compile(r"#[0-9A-Fa-f]{6}")  # the roster's own rule (agentchat.agents)
_ERRORS_BY_STATUS: dict[int, type[AgentchatError]] = {
    400: BadRequest,
    401: Unauthorized,
    413: PayloadTooLarge,
    503: StoreUnavailable,
}


@dataclass(frozen=True, slots=True)
class Health:
    """`GET /healthz`: the HTTP status and the hub's JSON (a 503 still has a body worth showing)."""

    status_code: int
    payload: dict[str, Any]

    @property
    def healthy(self) -> bool:
        return self.status_code == 200 and self.payload.get("status") == "ok"


class HubApi:
    """One hub's roster, generate and health endpoints over httpx; see the module docstring for errors."""

    def __init__(self, hub_url: str, token: str | None = None, timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS):
        self.hub_url = hub_url.rstrip("/")
        self.token = token
        self.timeout_seconds = timeout_seconds

    def roster(self) -> tuple[Agent, ...]:
        """The hub's agents, in its order; colors that are not `#RRGGBB` become gray."""
        body = self._request("GET", "/api/agents")
        if not isinstance(body, list):
            raise AgentchatError(f"the hub at {self.hub_url} sent a roster that is not a list")
        agents = []
        for entry in body:
            if not isinstance(entry, dict) or not entry.get("id"):
                continue
            color = str(entry.get("color", ""))
            agents.append(
                Agent(
                    id=str(entry["id"]),
                    name=str(entry.get("name") or entry["id"]),
                    color=color if _HEX_COLOR.fullmatch(color) else FALLBACK_COLOR,
                    strategy=str(entry.get("strategy", "")),
                )
            )
        return tuple(agents)

    def generate(self, agent_ids: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """One new message per agent (all of them, or `agent_ids`), with the bearer token when there is one."""
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        body = {"agents": list(agent_ids)} if agent_ids else None
        answer = self._request("POST", "/api/chat/generate", json=body, headers=headers)
        messages = answer.get("messages") if isinstance(answer, dict) else None
        if not isinstance(messages, list):
            raise AgentchatError(f"the hub at {self.hub_url} answered the round without a list of messages")
        return messages

    def performance(self) -> dict[str, Any]:
        """`GET /api/agents/performance`: the books of every agent, ranked by equity."""
        body = self._request("GET", "/api/agents/performance")
        if not isinstance(body, dict) or not isinstance(body.get("agents"), list):
            raise AgentchatError(f"the hub at {self.hub_url} answered /api/agents/performance without agents")
        return body

    def equity(self, agent_id: str) -> list[dict[str, Any]]:
        """`GET /api/agents/{id}/equity`: the agent's equity after each round the hub keeps, oldest first."""
        body = self._request("GET", f"/api/agents/{quote(agent_id, safe='')}/equity")
        points = body.get("points") if isinstance(body, dict) else None
        if not isinstance(points, list):
            raise AgentchatError(f"the hub at {self.hub_url} answered the equity of {agent_id} without points")
        return [point for point in points if isinstance(point, dict)]

    def health(self) -> Health:
        """`/healthz` as it is, 200 or 503; only an unreachable hub or a non-JSON answer raises."""
        try:
            response = httpx.get(f"{self.hub_url}/healthz", timeout=self.timeout_seconds)
        except httpx.HTTPError as error:
            raise self._unreachable(error) from None
        payload = _json_or_none(response)
        if not isinstance(payload, dict):
            raise AgentchatError(f"the hub at {self.hub_url} answered /healthz with HTTP {response.status_code}")
        return Health(response.status_code, payload)

    def _request(self, method: str, path: str, **options: Any) -> Any:
        try:
            response = httpx.request(method, f"{self.hub_url}{path}", timeout=self.timeout_seconds, **options)
        except httpx.HTTPError as error:
            raise self._unreachable(error) from None
        body = _json_or_none(response)
        if response.is_success and body is not None:
            return body
        raise self._refused(response, body)

    def _unreachable(self, error: httpx.HTTPError) -> HubUnreachable:
        return HubUnreachable(f"the hub at {self.hub_url} is unreachable ({describe_error(error)}); {START_HINT}")

    def _refused(self, response: httpx.Response, body: Any) -> AgentchatError:
        status = response.status_code
        reason = hub_error_phrase(body) or response.reason_phrase or "no JSON body"
        hint = " (set AGENTCHAT_GENERATE_TOKEN to the hub's token)" if status == 401 else ""
        kind = _ERRORS_BY_STATUS.get(status, RequestError if 400 <= status < 500 else AgentchatError)
        return kind(f"the hub at {self.hub_url} answered HTTP {status} {reason}{hint}")


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
