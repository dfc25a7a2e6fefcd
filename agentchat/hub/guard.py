"""What every request must pass before any route sees it: its Host, its Origin, its header size.

- `Host` (DNS rebinding): a page served from `attacker.example` whose name the attacker then
  points at the hub's address is same-origin with it in the browser, so its Origin check passes.
  Its `Host` still names `attacker.example`. So a request naming a host not served is refused:
  a hub that listens on loopback answers only loopback names (`localhost`, `127.0.0.1` and the
  rest of 127/8, `[::1]`), the host of `AGENTCHAT_HUB_URL` and the names in
  `AGENTCHAT_ALLOWED_HOSTS` (a proxy's public name). A hub bound beyond loopback answers the
  names in the setting, or any name when it is unset (its generate token guards the writes).
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

import functools
from urllib.parse import urlsplit

from starlette.types import Scope

from agentchat.contract import STREAM_PATH
from agentchat.errors import AgentchatError, BadRequest, Forbidden, PayloadTooLarge
from agentchat.settings import Settings, is_loopback_host

__all__ = ["MAX_HEADER_BYTES", "HeadersTooLarge", "RequestGuard", "served_host_names"]

MAX_HEADER_BYTES = 32 * 1024
MAX_REMEMBERED_HOSTS = 64  # distinct Host headers whose answer `RequestGuard` keeps


class HeadersTooLarge(PayloadTooLarge):
    """Request headers over `MAX_HEADER_BYTES` (431)."""

    code = "headers_too_large"
    status = 431


class RequestGuard:
    """Checks one request's scope against the hub's settings; `refusal(scope)` is None when it may pass."""

    def __init__(self, settings: Settings, public_paths: frozenset[str] = frozenset()) -> None:
        self.public_paths = public_paths  # static files any site may load (the viewer's module and styles)
        self.allowed_hosts = served_host_names(settings)
        self.loopback_names = settings.hub_is_loopback
        self.cors_origins = frozenset(settings.cors_origins)
        self.stream_origins = settings.dashboard_origins
        # `serves` by Host header: every request asks, with a handful of hosts; bounded, since a client picks the Host
        self._serves_cached = functools.lru_cache(maxsize=MAX_REMEMBERED_HOSTS)(self.serves)

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
        if host and not self._serves_cached(host):
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

    def serves(self, host: str) -> bool:
        """Whether a request with this `Host` header is for this hub (see the module docstring)."""
        if not self.allowed_hosts or "*" in self.allowed_hosts:
            return True
        name = _hostname(host)
        return name in self.allowed_hosts or (self.loopback_names and is_loopback_host(name))


def served_host_names(settings: Settings) -> frozenset[str]:
    """`AGENTCHAT_ALLOWED_HOSTS`, and on a loopback hub the loopback names and the hub URL's host; empty: any."""
    names = {host.lower() for host in settings.allowed_hosts}
    if not settings.hub_is_loopback:
        return frozenset(names)
    names |= {"localhost", "127.0.0.1", "[::1]"}
    hub_url_host = urlsplit(settings.hub_url).hostname
    if hub_url_host:
        names.add(f"[{hub_url_host}]" if ":" in hub_url_host else hub_url_host.lower())
    return frozenset(names)


def _hostname(host: str) -> str:
    """`Host` without its port (`[::1]:8000` → `[::1]`, `example:80` → `example`)."""
    name = host.strip().lower()
    if name.startswith("["):
        return name.split("]", 1)[0] + "]"
    name = name.rsplit(":", 1)[0] if name.count(":") == 1 else name
    return name.rstrip(".")  # `localhost.` is `localhost`
