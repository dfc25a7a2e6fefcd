"""The few one-off requests the dashboard makes to the hub: the roster, a round, the health, the books.

The live feed goes through `RealtimeAgentMessages`; these are plain requests (through `HubClient`)
made while a page runs, so each has a short timeout (the page waits for it) and every failure
becomes one `AgentchatError` whose `detail` an operator can act on: `HubUnreachable` when nothing
answers (with how to start a hub), else the class the hub's answer stands for (401 `Unauthorized`,
503 `StoreUnavailable`, ...) carrying the hub's own `{"error", "detail"}`.

The roster is checked again here although the hub validated it: its colors end up inside
Markdown directives, so anything but `#RRGGBB` is replaced rather than trusted.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from agentchat.agents import Agent
from agentchat.contract import HEALTH_PATH, PERFORMANCE_PATH
from agentchat.errors import AgentchatError, HubUnreachable
from agentchat.http_errors import describe_error, json_body, successful_json
from agentchat.hub_client import HubClient

__all__ = ["FALLBACK_COLOR", "START_HINT", "Health", "HubApi"]

DEFAULT_TIMEOUT_SECONDS = 5.0
FALLBACK_COLOR = "#9E9E9E"
START_HINT = "start it with `python -m agentchat hub` (or `make run` for hub, scheduler and dashboard together)"
_HEX_COLOR = re.compile(r"#[0-9A-Fa-f]{6}")  # the roster's own rule (agentchat.agents)


@functools.cache
def _client(hub_url: str, token: str | None, timeout_seconds: float) -> HubClient:
    """The process's one client for a hub, token and timeout, shared by every session's script thread.

    A client per request cost more than the request to a local hub (httpx reads the proxy settings
    from the environment and builds a pool at every client), and the live area asks for the books
    at every round; a shared one also keeps its connections alive between requests."""
    return HubClient(hub_url, token, timeout_seconds)


@dataclass(frozen=True, slots=True)
class Health:
    """`GET /healthz`: the HTTP status and the hub's JSON (a 503 still has a body worth showing)."""

    status_code: int
    payload: dict[str, Any]

    @property
    def healthy(self) -> bool:
        return self.status_code == 200 and self.payload.get("status") == "ok"


class HubApi:
    """One hub's roster, generate and health, each one request; see the module docstring for errors."""

    def __init__(self, hub_url: str, token: str | None = None, timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS):
        self.hub_url = hub_url.rstrip("/")
        self.token = token
        self.timeout_seconds = timeout_seconds

    def roster(self) -> tuple[Agent, ...]:
        """The hub's agents, in its order; colors that are not `#RRGGBB` become gray."""
        body = self._json(HubClient.agents)
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
        answer = self._json(lambda hub: hub.generate(agent_ids))
        messages = answer.get("messages") if isinstance(answer, dict) else None
        if not isinstance(messages, list):
            raise AgentchatError(f"the hub at {self.hub_url} answered the round without a list of messages")
        return messages

    def performance(self) -> dict[str, Any]:
        """`GET PERFORMANCE_PATH`: the books of every agent, ranked by equity."""
        body = self._json(HubClient.performance)
        if not isinstance(body, dict) or not isinstance(body.get("agents"), list):
            raise AgentchatError(f"the hub at {self.hub_url} answered {PERFORMANCE_PATH} without agents")
        return body

    def equity(self, agent_id: str) -> list[dict[str, Any]]:
        """`GET EQUITY_PATH`: the agent's equity after each round the hub keeps, oldest first."""
        body = self._json(lambda hub: hub.equity(agent_id))
        points = body.get("points") if isinstance(body, dict) else None
        if not isinstance(points, list):
            raise AgentchatError(f"the hub at {self.hub_url} answered the equity of {agent_id} without points")
        return [point for point in points if isinstance(point, dict)]

    def health(self) -> Health:
        """`/healthz` as it is, 200 or 503; only an unreachable hub or a non-JSON answer raises."""
        response = self._send(HubClient.health)
        payload = json_body(response)
        if not isinstance(payload, dict):
            raise AgentchatError(f"the hub at {self.hub_url} answered {HEALTH_PATH} with HTTP {response.status_code}")
        return Health(response.status_code, payload)

    def _json(self, request: Callable[[HubClient], httpx.Response]) -> Any:
        """The JSON of a successful answer; anything else raises the error it stands for."""
        return successful_json(self._send(request), f"the hub at {self.hub_url}")

    def _send(self, request: Callable[[HubClient], httpx.Response]) -> httpx.Response:
        try:
            return request(_client(self.hub_url, self.token, self.timeout_seconds))
        except httpx.HTTPError as error:
            raise HubUnreachable(
                f"the hub at {self.hub_url} is unreachable ({describe_error(error)}); {START_HINT}"
            ) from None
