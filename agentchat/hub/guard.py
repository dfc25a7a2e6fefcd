"""What every request must pass before any route sees it: its Host, its Origin, its header size.

- `Host` (DNS rebinding): with `AGENTCHAT_ALLOWED_HOSTS` set, a request naming another host is
  refused, so a page served from `attacker.example` that resolves to the hub cannot talk to it.
- `Origin` (cross-site requests): a browser sends it on every cross-origin request and on a
  same-origin POST. One that is neither the hub's own origin (the `Host` the request was sent
  to) nor in `AGENTCHAT_CORS_ORIGINS` is refused: a page elsewhere cannot make the operator's
  browser generate rounds, with or without a CORS preflight. The stream (`GET /api/chat/stream`)
  is also open to the dashboard's origins (`Settings.dashboard_origins`): the operator's browser
  holds an `EventSource` on it to know when to redraw, and a stream only reads.
- Header bytes: past `MAX_HEADER_BYTES` of parsed headers the request is refused with 431. The
  raw head is bounded earlier, before it is parsed, by the server's protocol (`heads.py`).

Each refusal is an `AgentchatError`, answered with the hub's JSON error body by whoever asked.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.types import Scope

from agentchat.errors import AgentchatError, BadRequest, Forbidden, PayloadTooLarge
from agentchat.hub_client import STREAM_PATH
from agentchat.settings import Settings

__all__ = ["MAX_HEADER_BYTES", "HeadersTooLarge", "RequestGuard"]

MAX_HEADER_BYTES = 32 * 1024


class HeadersTooLarge(PayloadTooLarge):
    """Request headers over `MAX_HEADER_BYTES` (431)."""

    code = "headers_too_large"
    status = 431


class RequestGuard:
    """Checks one request's scope against the hub's settings; `refusal(scope)` is None when it may pass."""

    def __init__(self, settings: Settings, public_paths: frozenset[str] = frozenset()) -> None:
        self.public_paths = public_paths  # static files any site may load (the viewer's module and styles)
        self.allowed_hosts = frozenset(host.lower() for host in settings.allowed_hosts)
        self.cors_origins = frozenset(settings.cors_origins)
        self.stream_origins = settings.dashboard_origins

    def refusal(self, scope: Scope) -> AgentchatError | None:
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        if sum(len(name) + len(value) + 4 for name, value in headers) > MAX_HEADER_BYTES:
            return HeadersTooLarge(f"request headers are over the limit of {MAX_HEADER_BYTES} bytes")
        host = origin = ""
        for name, value in headers:
            if name == b"host":
                host = value.decode("latin-1")
            elif name == b"origin":
                origin = value.decode("latin-1")
        if self.allowed_hosts and _hostname(host) not in self.allowed_hosts and "*" not in self.allowed_hosts:
            return BadRequest(f"Host {host[:100]!r} is not served here (AGENTCHAT_ALLOWED_HOSTS)")
        if (
            origin
            and origin not in self.cors_origins
            and urlsplit(origin).netloc.lower() != host.lower()
            and scope["path"] not in self.public_paths
            and not (scope["path"] == STREAM_PATH and origin in self.stream_origins)
        ):
            return Forbidden(f"Origin {origin[:100]!r} is not allowed (AGENTCHAT_CORS_ORIGINS)")
        return None


def _hostname(host: str) -> str:
    """`Host` without its port (`[::1]:8000` → `[::1]`, `example:80` → `example`)."""
    name = host.strip().lower()
    if name.startswith("["):
        return name.split("]", 1)[0] + "]"
    return name.rsplit(":", 1)[0] if name.count(":") == 1 else name
