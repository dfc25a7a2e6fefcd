"""The hub's HTTP contract, written once: its paths, the headers it reads and sets, media types, limits.

The hub's route table, its OpenAPI document and every Python client (`HubClient`, the feed, the
probe, the scheduler, the dashboard, `AgentClient`) take these names from here, as Datasette's
`Urls` does for its own paths; no other module writes a path of the API. The browser module
(`hub/static/agentchat.js`) keeps its own copy of the few it needs, since it runs in the browser,
and `tests/test_contract.py` fails when that copy differs from this one.

A path with `{...}` in it is a route pattern (Starlette's syntax); `equity_path` fills
EQUITY_PATH in for one agent.
"""

from __future__ import annotations

from urllib.parse import quote

__all__ = [
    "AGENTS_PATH",
    "EQUITY_PATH",
    "EVENT_STREAM",
    "GENERATE_PATH",
    "HEALTH_PATH",
    "HISTORY_PAGE_LIMIT",
    "HISTORY_PATH",
    "IDEMPOTENCY_KEY",
    "IDEMPOTENT_REPLAYED",
    "JSON",
    "LAST_EVENT_ID",
    "MARKET_PATH",
    "MESSAGES_PAGE_DEFAULT",
    "MESSAGES_PAGE_LIMIT",
    "MESSAGES_PATH",
    "MESSAGE_PATH",
    "METRICS_PATH",
    "OPENAPI_PATH",
    "PERFORMANCE_PATH",
    "STREAM_PATH",
    "VIEWER_CONFIG_PATH",
    "equity_path",
]

# -- paths ----------------------------------------------------------------------------------------

STREAM_PATH = "/api/chat/stream"  # GET: the live messages as Server-Sent Events
MESSAGES_PATH = "/api/chat/messages"  # GET: a page of the live window; POST: an external agent publishes
MESSAGE_PATH = "/api/chat/messages/{message_id}"  # a route pattern: one message, by id
GENERATE_PATH = "/api/chat/generate"  # POST: one round
HISTORY_PATH = "/api/chat/history"  # GET: filtered history, newest first, or an export
MARKET_PATH = "/api/market"  # GET: what an external agent decides from
AGENTS_PATH = "/api/agents"  # GET: the roster
PERFORMANCE_PATH = "/api/agents/performance"  # GET: every agent's book, ranked
EQUITY_PATH = "/api/agents/{agent_id}/equity"  # a route pattern: `equity_path` fills it in
HEALTH_PATH = "/healthz"
METRICS_PATH = "/metrics"
OPENAPI_PATH = "/openapi.json"
VIEWER_CONFIG_PATH = "/api/viewer/config"  # what the viewer page's browser module is configured with

# -- headers --------------------------------------------------------------------------------------

LAST_EVENT_ID = "Last-Event-ID"  # a stream resumes after this id
IDEMPOTENCY_KEY = "Idempotency-Key"  # a generate or publish sent again with the same key is answered once
IDEMPOTENT_REPLAYED = "Idempotent-Replayed"  # "true" on an answer the hub gave before for this key

# -- media types ----------------------------------------------------------------------------------

JSON = "application/json"
EVENT_STREAM = "text/event-stream"

# -- limits ---------------------------------------------------------------------------------------

MESSAGES_PAGE_LIMIT = 1000  # the largest `limit` the hub takes on MESSAGES_PATH
MESSAGES_PAGE_DEFAULT = 100  # MESSAGES_PATH's `limit` when a request sends none
HISTORY_PAGE_LIMIT = 1000  # the most messages in one JSON page of HISTORY_PATH


def equity_path(agent_id: str) -> str:
    """EQUITY_PATH for one agent (its id percent-encoded, though roster ids never need it)."""
    return EQUITY_PATH.format(agent_id=quote(agent_id, safe=""))
