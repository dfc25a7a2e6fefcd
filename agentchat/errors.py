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
    ├── Forbidden               a browser Origin or a Host the hub does not serve (403, 400 for Host)
    ├── RequestTimeout          a request body that did not arrive in time (408)
    ├── PayloadTooLarge         request body or headers over the limit (413, 431)
    ├── UnsupportedMediaType    a body that is not application/json (415)
    ├── IdempotencyKeyReused    one Idempotency-Key with a different body (422)
    └── RateLimited             more rounds than AGENTCHAT_GENERATE_PER_MINUTE (429, Retry-After)
```

The hub turns a ``RequestRefused`` or ``StoreUnavailable`` into the JSON body
``{"error": code, "detail": detail}`` with ``status`` and the error's ``headers()`` (built by
``error_body``), and its clients turn that body back into the same class
(`agentchat.http_errors.refusal`); the CLI turns any ``AgentchatError`` into one readable line.
Nothing here carries a traceback to a user.

``RequestRefused`` is not named ``RequestError``: beside httpx, whose ``RequestError`` means the
request never got an answer, that name would say the opposite of what it means here.
"""

from __future__ import annotations

__all__ = [
    "AgentchatError",
    "BadRequest",
    "ConfigError",
    "Forbidden",
    "HubUnreachable",
    "IdempotencyKeyReused",
    "NotFound",
    "PayloadTooLarge",
    "RateLimited",
    "RequestRefused",
    "RequestTimeout",
    "StoreUnavailable",
    "Unauthorized",
    "UnknownAgent",
    "UnsupportedMediaType",
    "error_body",
]


class AgentchatError(Exception):
    """Base of every deliberate agentchat error."""

    code = "agentchat_error"
    status = 500

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    def headers(self) -> dict[str, str]:
        """HTTP headers the hub's answer carries besides the JSON body."""
        return {}


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


class RateLimited(RequestRefused):
    """More rounds than the hub allows in its window; `retry_after_seconds` says when one fits again."""

    code = "rate_limited"
    status = 429

    def __init__(self, detail: str, retry_after_seconds: int | None = None) -> None:
        super().__init__(detail)
        self.retry_after_seconds = retry_after_seconds

    def headers(self) -> dict[str, str]:
        return {} if self.retry_after_seconds is None else {"Retry-After": str(self.retry_after_seconds)}


class Forbidden(RequestRefused):
    """A cross-site request (a browser `Origin` not allowed) or a `Host` the hub does not serve."""

    code = "forbidden"
    status = 403


class RequestTimeout(RequestRefused):
    """A request whose body did not arrive within the hub's read deadline."""

    code = "request_timeout"
    status = 408


class UnsupportedMediaType(RequestRefused):
    """A request body that is not `Content-Type: application/json`."""

    code = "unsupported_media_type"
    status = 415


class IdempotencyKeyReused(RequestRefused):
    """An `Idempotency-Key` already used for a round with a different body."""

    code = "idempotency_key_reused"
    status = 422


def error_body(code: str, detail: str) -> dict[str, str]:
    """The hub's JSON error body: every refusal the API sends (ours, routing's, a crash's) has this shape."""
    return {"error": code, "detail": detail}
