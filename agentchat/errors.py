"""Every error agentchat raises on purpose, and what each one means to a caller.

```
AgentchatError                  base: catch this to catch everything below
├── ConfigError                 a setting is invalid; the process should not start
├── StoreUnavailable            the database cannot be reached or is locked (HTTP 503)
├── HubUnreachable              a client could not reach the hub at all
└── RequestRefused              the caller sent something wrong (HTTP 4xx)
    ├── BadRequest              malformed body or parameter (400)
    │   └── UnknownAgent        an agent id that is not in the roster (400)
    ├── Unauthorized            missing or wrong bearer token (401)
    ├── NotFound                a path naming something the hub does not have, e.g. an agent (404)
    └── PayloadTooLarge         request body over the limit (413)
```

The hub turns a ``RequestRefused`` or ``StoreUnavailable`` into the JSON body
``{"error": code, "detail": detail}`` with ``status`` (built by ``error_body``), and its clients
turn that body back into the same class (`agentchat.hub_client.refusal`); the CLI turns any
``AgentchatError`` into one readable line. Nothing here carries a traceback to a user.

``RequestRefused`` is not named ``RequestError``: beside httpx, whose ``RequestError`` means the
request never got an answer, that name would say the opposite of what it means here.
"""

from __future__ import annotations

__all__ = [
    "AgentchatError",
    "BadRequest",
    "ConfigError",
    "HubUnreachable",
    "NotFound",
    "PayloadTooLarge",
    "RequestRefused",
    "StoreUnavailable",
    "Unauthorized",
    "UnknownAgent",
    "error_body",
]


class AgentchatError(Exception):
    """Base of every deliberate agentchat error."""

    code = "agentchat_error"
    status = 500

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class ConfigError(AgentchatError):
    """A setting (environment variable, `.env` entry or roster file) is invalid."""

    code = "config_error"


class StoreUnavailable(AgentchatError):
    """The database could not be reached, or did not answer in time."""

    code = "store_unavailable"
    status = 503


class HubUnreachable(AgentchatError):
    """A client could not open a connection to the hub."""

    code = "hub_unreachable"


class RequestRefused(AgentchatError):
    """The caller's request was wrong, so the hub refused it; the status says how. Asking again will not help."""

    code = "bad_request"
    status = 400


class BadRequest(RequestRefused):
    """A body or query parameter that does not parse or is out of range."""


class UnknownAgent(BadRequest):
    """An agent id that is not in the roster."""

    code = "unknown_agent"


class Unauthorized(RequestRefused):
    """`POST /api/chat/generate` without the right bearer token."""

    code = "unauthorized"
    status = 401


class NotFound(RequestRefused):
    """The path names something the hub does not have, such as an agent not in its roster."""

    code = "not_found"
    status = 404


class PayloadTooLarge(RequestRefused):
    """A request body over the hub's limit."""

    code = "payload_too_large"
    status = 413


def error_body(code: str, detail: str) -> dict[str, str]:
    """The hub's JSON error body: every refusal the API sends (ours, routing's, a crash's) has this shape."""
    return {"error": code, "detail": detail}
