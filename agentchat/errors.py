"""Every error agentchat raises on purpose, and what each one means to a caller.

```
AgentchatError                  base: catch this to catch everything below
├── ConfigError                 a setting is invalid; the process should not start
├── StoreUnavailable            the database cannot be reached or is locked (HTTP 503)
├── HubUnreachable              a client could not reach the hub at all
└── RequestError                the caller sent something wrong (HTTP 4xx)
    ├── BadRequest              malformed body or parameter (400)
    │   └── UnknownAgent        an agent id that is not in the roster (400)
    ├── Unauthorized            missing or wrong bearer token (401)
    ├── NotFound                a path naming something the hub does not have, e.g. an agent (404)
    └── PayloadTooLarge         request body over the limit (413)
```

The hub turns a ``RequestError`` or ``StoreUnavailable`` into the JSON body
``{"error": code, "detail": detail}`` with ``status``; the CLI turns any
``AgentchatError`` into one readable line. Nothing here carries a traceback to a user.
"""

from __future__ import annotations


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


class RequestError(AgentchatError):
    """The caller's request was wrong; the status says how."""

    code = "bad_request"
    status = 400


class BadRequest(RequestError):
    """A body or query parameter that does not parse or is out of range."""


class UnknownAgent(BadRequest):
    """An agent id that is not in the roster."""

    code = "unknown_agent"


class Unauthorized(RequestError):
    """`POST /api/chat/generate` without the right bearer token."""

    code = "unauthorized"
    status = 401


class NotFound(RequestError):
    """The path names something the hub does not have, such as an agent not in its roster."""

    code = "not_found"
    status = 404


class PayloadTooLarge(RequestError):
    """A request body over the hub's limit."""

    code = "payload_too_large"
    status = 413


def hub_error_phrase(body: object) -> str | None:
    """`code: detail` from the hub's JSON error body, or None when `body` is not one.

    Every client of the hub (feed, scheduler, dashboard) reports a refusal with this phrase.
    """
    if not isinstance(body, dict) or "error" not in body:
        return None
    return f"{body['error']}: {body.get('detail', '')}".rstrip(": ")
