"""What tests ask of any hub over HTTP, in a process or not: a round, the messages, a metric.

The paths are the hub's public API (SPEC): `/api/chat/generate`, `/api/chat/messages`, `/metrics`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import httpx

from agentchat.contract import GENERATE_PATH, MESSAGES_PATH, METRICS_PATH
from tests.kit import web


class HubClientMixin:
    """What tests ask of any hub, in a process or not: a round, the messages, a metric."""

    url: str

    def generate(self, agents: Iterable[str] | None = None, **headers: str) -> httpx.Response:
        body = {"agents": list(agents)} if agents is not None else None
        return web.post(f"{self.url}{GENERATE_PATH}", json=body, headers=headers, timeout=30)

    def messages(self, **params: Any) -> dict[str, Any]:
        response = web.get(f"{self.url}{MESSAGES_PATH}", params=params, timeout=10)
        response.raise_for_status()
        return dict(response.json())

    def metric(self, name: str) -> float:
        text = web.get(f"{self.url}{METRICS_PATH}", timeout=10).text
        for line in text.splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{"):
                return float(line.rsplit(" ", 1)[1])
        raise AssertionError(f"metric {name} not in {METRICS_PATH}")
