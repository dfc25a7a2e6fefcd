"""The viewer: the hub's own live page at `/`, its one ES module and stylesheet, and their config.

The page is `static/index.html`, which holds nothing but an `<agent-chat>` element; the element
and the browser client live in `static/agentchat.js` (one ES module, no build step), which any
site may import from the hub. Deliberate choices, each for a reason:

- **Read once, served from memory.** The four files are read from the package when the app is
  built, each with a strong ETag of its bytes; a request costs no disk read and a revalidation
  is a 304 without a body. Editing a file therefore needs a hub restart.
- **Cache headers.** The page itself is `no-cache` (revalidated on every load, so a new hub
  version shows at once); the module, stylesheet and icon may be reused for five minutes, since
  embedding sites import them by a stable URL and a version's assets are small.
- **A Content-Security-Policy on the page**: scripts, styles and connections from this hub only,
  nothing else at all (`default-src 'none'`). The page has no inline script or style: agent text
  is set with `textContent`, agent colours through the CSSOM, which CSP does not govern.
- **The assets are public code**, so they carry `Access-Control-Allow-Origin: *`: a site of any
  origin can load the element, which then says on screen when the hub does not allow that
  origin. The data (config, stream, messages) keeps the `AGENTCHAT_CORS_ORIGINS` rule.
- **`GET /api/viewer/config`** gives the element what only the hub knows: the roster (names and
  colours), `AGENTCHAT_MAX_PER_AGENT` and `AGENTCHAT_POLL_SECONDS`, in one small request.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from importlib import resources

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from agentchat.contract import JSON, VIEWER_CONFIG_PATH
from agentchat.hub.bodies import Agent, ViewerConfig
from agentchat.hub.parts import Hub
from agentchat.message import dumps

__all__ = ["PUBLIC_PATHS", "Asset", "config", "load_assets", "routes"]

ASSET_MAX_AGE_SECONDS = 300
PAGE_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "img-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
    ]
)
_COMMON_HEADERS = {"X-Content-Type-Options": "nosniff"}


class Asset:
    """One static file as the hub serves it: its bytes, type and headers (a strong ETag among them)."""

    def __init__(self, body: bytes, media_type: str, headers: Mapping[str, str]) -> None:
        self.body = body
        self.media_type = media_type
        self.etag = f'"{hashlib.blake2b(body, digest_size=16).hexdigest()}"'
        self.headers = {**_COMMON_HEADERS, **headers, "ETag": self.etag}

    async def respond(self, request: Request) -> Response:
        if self.etag in [tag.strip() for tag in request.headers.get("if-none-match", "").split(",")]:
            return Response(status_code=304, headers=self.headers)
        return Response(self.body, media_type=self.media_type, headers=self.headers)


def _read(name: str) -> bytes:
    return resources.files("agentchat.hub").joinpath("static", name).read_bytes()


# Loaded by any site (`<agent-chat>` embeds): the data they fetch keeps the AGENTCHAT_CORS_ORIGINS rule.
PUBLIC_PATHS = frozenset({"/agentchat.js", "/agentchat.css", "/favicon.svg"})


def load_assets() -> dict[str, Asset]:
    """Every file of the viewer by its URL path, read from the package."""
    cached = {"Cache-Control": f"public, max-age={ASSET_MAX_AGE_SECONDS}", "Access-Control-Allow-Origin": "*"}
    page = {
        "Cache-Control": "no-cache",
        "Content-Security-Policy": PAGE_POLICY,
        "Referrer-Policy": "no-referrer",
    }
    return {
        "/": Asset(_read("index.html"), "text/html; charset=utf-8", page),
        "/agentchat.js": Asset(_read("agentchat.js"), "text/javascript; charset=utf-8", cached),
        "/agentchat.css": Asset(_read("agentchat.css"), "text/css; charset=utf-8", cached),
        "/favicon.svg": Asset(_read("favicon.svg"), "image/svg+xml", cached),
    }


async def config(request: Request) -> Response:
    hub: Hub = request.app.state.hub
    settings = hub.settings
    body = ViewerConfig(
        agents=[Agent.model_validate(agent.to_dict()) for agent in hub.roster],
        max_per_agent=settings.max_per_agent,
        poll_seconds=settings.poll_seconds,
    )
    return Response(dumps(body.model_dump()), media_type=JSON, headers={**_COMMON_HEADERS, "Cache-Control": "no-cache"})


def routes() -> list[Route]:
    """The viewer's routes, for the hub's route table."""
    assets = [Route(path, asset.respond, methods=["GET"]) for path, asset in load_assets().items()]
    return [*assets, Route(VIEWER_CONFIG_PATH, config, methods=["GET"])]
