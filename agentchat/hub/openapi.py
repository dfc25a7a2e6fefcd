"""The hub's OpenAPI 3.1 document, `GET /openapi.json`, built from one table of operations.

Deliberate choices:

- `OPERATIONS` is the table: one `Operation` per route, with its parameters, its body and every
  status it answers. A new endpoint is one entry; a new status is one `Reply` in an entry; the
  schemas, parameters and headers they name sit next to it (`_schemas`, `PARAMETERS`, `HEADERS`).
  `tests/test_openapi.py` fails when this table and the app's routes disagree, and
  `tests/test_fuzz.py` (schemathesis) when the hub answers anything the document does not say.
- Every body is declared once, as a pydantic model beside the code that builds or reads it
  (`hub/bodies.py`, `hub/stream_bodies.py`, `hub/market_bodies.py`, `hub/request_bodies.py`, the
  market's `BookReport`), and is not described again here: each component is its model's JSON
  Schema (`BODIES`, `_body_schemas`), written in this document's style by `_BodySchema`. What only
  a hub knows or only this document says stays here: `AgentId` (the roster), the stream's events.
- Schemas are exact, not indicative. The fuzzer sends what a schema allows and expects it
  accepted, and what it forbids and expects a 4xx. So an agent id is an enum of this hub's
  roster (every model's `AgentId` field refers to it), every integer carries the bounds the hub
  enforces, and bodies forbid unknown fields.
- The document is per hub: the roster and whether generate needs a token come from its settings.
  It is built once per (roster, token required) and served as the same bytes after that.
- HEAD is not listed: Starlette answers HEAD on every GET route (RFC 9110), and OpenAPI tools
  take it as implied.
- An event stream's `schema` describes one event (OpenAPI 3.1 has no `itemSchema`), in the shape
  SSE readers give it: `event` (default `message`), `id`, and `data`, whose JSON `contentSchema` names.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema
from starlette.requests import Request
from starlette.responses import Response

from agentchat import __version__
from agentchat.agents import Agent
from agentchat.body_types import AGENT_ID_COMPONENT, AGENT_ID_SCHEMA
from agentchat.contract import (
    AGENTS_PATH,
    EQUITY_PATH,
    EVENT_STREAM,
    GENERATE_PATH,
    HEALTH_PATH,
    HISTORY_PAGE_LIMIT,
    HISTORY_PATH,
    IDEMPOTENCY_KEY,
    IDEMPOTENT_REPLAYED,
    JSON,
    LAST_EVENT_ID,
    MARKET_PATH,
    MESSAGE_PATH,
    MESSAGES_PAGE_DEFAULT,
    MESSAGES_PAGE_LIMIT,
    MESSAGES_PATH,
    METRICS_PATH,
    OPENAPI_PATH,
    PERFORMANCE_PATH,
    STREAM_PATH,
    VIEWER_CONFIG_PATH,
)
from agentchat.history import EXPORT_FORMATS, MAX_QUERY_CHARS
from agentchat.hub import bodies, market_bodies, request_bodies, stream_bodies
from agentchat.hub.params import MAX_STORE_ID
from agentchat.hub.parts import Hub
from agentchat.hub.routes import MAX_BODY_BYTES, MAX_IDEMPOTENCY_KEY
from agentchat.market.report import BookReport, PositionReport
from agentchat.market.storage import KEPT_ROUNDS
from agentchat.market.trading import MAX_GROSS_LEVERAGE
from agentchat.message import MESSAGE_KINDS, dumps
from agentchat.settings import Settings

__all__ = ["BODIES", "Operation", "Reply", "Schema", "build_document", "error", "openapi_json", "ref"]

Schema = dict[str, Any]

PROMETHEUS_TEXT = "text/plain"
BEARER = "bearer"
AGENT_TOKEN = "agentToken"


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


@dataclass(frozen=True, slots=True)
class Reply:
    """One status an operation answers: its body (None for no body) and the headers that come with it."""

    status: int
    description: str
    schema: Schema | None = None
    media_type: str = JSON
    headers: tuple[str, ...] = ()  # names in HEADERS
    also: tuple[tuple[str, Schema], ...] = ()  # other media types this status may carry, with their schemas


def error(status: int, description: str) -> Reply:
    """A status answered with the hub's JSON error body."""
    return Reply(status, description, ref("Error"))


@dataclass(frozen=True, slots=True)
class Operation:
    """One route of the hub, as the document describes it."""

    method: str
    path: str
    operation_id: str
    summary: str
    replies: tuple[Reply, ...]
    description: str = ""
    parameters: tuple[str, ...] = ()  # names in PARAMETERS
    body: Schema | None = None  # an optional JSON body
    secured: bool = False  # the bearer token of AGENTCHAT_GENERATE_TOKEN
    agent_token: bool = False  # an external agent's own bearer token, always required


STORE_DOWN = error(503, "The store is unavailable; nothing was read or written.")
RETRY_RANGE = "{}-{} ms".format(
    Settings.model_fields["stream_retry_min_ms"].default, Settings.model_fields["stream_retry_max_ms"].default
)
BAD_PARAMETER = error(400, "A parameter is malformed or out of bounds, or an agent id is not in the roster.")

OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "GET",
        STREAM_PATH,
        "streamMessages",
        "Live messages as Server-Sent Events",
        description=(
            f"First `retry: <ms>`, drawn per connection between `AGENTCHAT_STREAM_RETRY_MIN_MS` and "
            f"`AGENTCHAT_STREAM_RETRY_MAX_MS` ({RETRY_RANGE} by default: `retry: 3000`); a range spreads a restart's "
            "reconnects out, "
            "then `event: ready` with the store's bounds; then each message as "
            "`id: <id>` and `data: <message JSON>` (the default event type), and `event: heartbeat` every "
            "heartbeat period with no `id:` line. With `Last-Event-ID` (or `last_event_id`) it first replays "
            "every message of the live window after that id, in id order, then goes live with no gap and no "
            "duplicate. The live window is the last `AGENTCHAT_RETENTION_SECONDS`, or each agent's latest "
            "`AGENTCHAT_MAX_PER_AGENT`, whichever holds more; `ready.gap` is true when a message after that id "
            "is no longer in it (the client never saw it). "
            "With `books=1`, `event: book` frames (no `id:`) with the followed agents' books: the full books "
            "as the stream goes live (`full: true`, as `/api/agents/performance` ranks them), then after each "
            "round, from every hub, what changed (`full: false`: `marks` once per moved symbol, and only the "
            "changed fields of the agents whose book moved; in `positions`, by symbol, `null` is a position "
            "closed). A frame of a round not newer than the books held changes nothing. Without `books=1` "
            "the stream has no book frame. "
            "The stream does not end; a client that does not read is cut off."
        ),
        parameters=("agents", "books", "last_event_id", LAST_EVENT_ID, "details"),
        replies=(
            Reply(
                200,
                "The event stream; never compressed or buffered.",
                ref("StreamEvent"),
                EVENT_STREAM,
                ("Cache-Control", "X-Accel-Buffering"),
            ),
            BAD_PARAMETER,
            STORE_DOWN,
        ),
    ),
    Operation(
        "POST",
        GENERATE_PATH,
        "generateRound",
        "Generate one message per agent, store them, then broadcast them",
        description=(
            "Without a body, or with `{}`, every agent of the roster posts. The same `Idempotency-Key` again "
            "(remembered for a day, or the retention if longer) returns the first answer and generates nothing."
        ),
        parameters=(IDEMPOTENCY_KEY,),
        body=ref("GenerateRequest"),
        secured=True,
        replies=(
            Reply(201, "The round: one message per agent, in id order.", ref("Round"), headers=(IDEMPOTENT_REPLAYED,)),
            error(400, "The body is not the JSON object described, or names an agent not in the roster."),
            error(401, "AGENTCHAT_GENERATE_TOKEN is set and the request lacks `Authorization: Bearer <token>`."),
            error(403, "A browser Origin that is not in AGENTCHAT_CORS_ORIGINS."),
            error(408, "The body did not arrive in time."),
            error(413, f"The body is over {MAX_BODY_BYTES} bytes."),
            error(415, "A body that is not `Content-Type: application/json`."),
            error(422, "This Idempotency-Key was used before with a different request."),
            Reply(
                429,
                "Over AGENTCHAT_GENERATE_PER_MINUTE rounds in 60 s on this hub; replays of a known key do not count.",
                ref("Error"),
                headers=("Retry-After",),
            ),
            error(503, "The store is unavailable; nothing was stored or broadcast."),
        ),
    ),
    Operation(
        "GET",
        MESSAGES_PATH,
        "listMessages",
        "Messages of the live window after an id, in id order",
        description=(
            "The live window: the last `AGENTCHAT_RETENTION_SECONDS`, or each agent's latest "
            "`AGENTCHAT_MAX_PER_AGENT`, whichever holds more, so a client opened between rounds still gets "
            "each agent's latest messages."
        ),
        parameters=("since_id", "agents", "limit", "If-None-Match"),
        replies=(
            Reply(200, "A page of messages.", ref("MessagesPage"), headers=("ETag", "Cache-Control")),
            Reply(304, "`If-None-Match` named this answer's ETag: nothing changed.", None, headers=("ETag",)),
            BAD_PARAMETER,
            STORE_DOWN,
        ),
    ),
    Operation(
        "POST",
        MESSAGES_PATH,
        "publishMessage",
        "An external agent publishes a message, and trades when it carries an order",
        description=(
            "Stored, then broadcast like a generated message. An `order` is filled at the shared market's current "
            "price (`GET /api/market`), in the transaction and under the lock that order every hub's rounds; the "
            "message's `meta` carries the fill and the agent's book changes with it. The book must hold the order: "
            f"after the fill, gross exposure at most {MAX_GROSS_LEVERAGE:g} x equity, equity positive. The same "
            "`Idempotency-Key` again returns the first answer and changes nothing."
        ),
        parameters=(IDEMPOTENCY_KEY,),
        body=ref("PublishRequest"),
        agent_token=True,
        replies=(
            Reply(201, "The stored message.", ref("Published"), headers=(IDEMPOTENT_REPLAYED,)),
            error(400, "A bad body, an unknown symbol or agent, or an order the book cannot hold."),
            error(401, "No `Authorization: Bearer <token>` of an external agent of the roster."),
            error(403, "The token is another agent's, the agent is simulated, or a foreign browser Origin."),
            error(408, "The body did not arrive in time."),
            error(413, f"The body is over {MAX_BODY_BYTES} bytes."),
            error(415, "A body that is not `Content-Type: application/json`."),
            error(422, "This Idempotency-Key was used before with a different body."),
            Reply(
                429,
                "Over AGENTCHAT_PUBLISH_PER_MINUTE messages of this agent in 60 s on this hub.",
                ref("Error"),
                headers=("Retry-After",),
            ),
            error(503, "The store is unavailable; nothing was stored or broadcast."),
        ),
    ),
    Operation(
        "GET",
        MARKET_PATH,
        "market",
        "The shared simulated market now: what an agent decides from",
        replies=(Reply(200, "Every symbol's price and its move over the latest bar.", ref("Market")), STORE_DOWN),
    ),
    Operation(
        "GET",
        MESSAGE_PATH,
        "getMessage",
        "One message, with its `details`, while history holds it",
        parameters=("message_id",),
        replies=(
            Reply(200, "The message.", ref("Message")),
            error(400, "The id is not an integer of digits within the store's range."),
            error(404, "History does not hold this id (never written, or older than `AGENTCHAT_HISTORY_DAYS`)."),
            STORE_DOWN,
        ),
    ),
    Operation(
        "GET",
        HISTORY_PATH,
        "searchHistory",
        "Every message history holds, filtered, newest first, paged by id; or exported as CSV or JSON Lines",
        description=(
            "Messages are kept `AGENTCHAT_HISTORY_DAYS` (default 30). Filters combine: `agents`, `kind`, "
            "`symbol`, `side` (messages that traded), `q` (a case-insensitive substring of the text), "
            "`since` (created at or after) and `until` (created before). A page holds at most "
            f"{HISTORY_PAGE_LIMIT} messages (`limit`, default 100); `next_before_id` asks for the next, older page, "
            "null on the last. With `format=csv` (a header line, then one line per message) or "
            "`format=jsonl` (one message JSON a line) the same selection is streamed as a download, "
            "`limit` capping its rows when given. Messages carry their `details` (in CSV, the `details` "
            "column holds them as JSON text, empty for a message without any)."
        ),
        parameters=(
            "agents",
            "kind",
            "symbol",
            "side",
            "q",
            "since_time",
            "until",
            "before_id",
            "history_limit",
            "format",
        ),
        replies=(
            Reply(
                200,
                "A page of history (`format=json`), or the export: CSV or JSON Lines.",
                ref("HistoryPage"),
                also=(
                    ("text/csv", {"type": "string", "description": "a header line, then one line per message"}),
                    ("application/x-ndjson", {"type": "string", "description": "one message JSON a line"}),
                ),
            ),
            BAD_PARAMETER,
            STORE_DOWN,
        ),
    ),
    Operation(
        "GET",
        AGENTS_PATH,
        "listAgents",
        "The roster",
        replies=(Reply(200, "Every agent of this hub.", {"type": "array", "items": ref("Agent")}),),
    ),
    Operation(
        "GET",
        PERFORMANCE_PATH,
        "agentsPerformance",
        "The agents' books from the shared simulation, ranked by equity",
        description=(
            "Every agent of the roster (a starting book until it trades), marked at the latest round's prices. "
            "Every hub on one store answers the same; a restart keeps it."
        ),
        replies=(Reply(200, "The books, highest equity first.", ref("Performance")), STORE_DOWN),
    ),
    Operation(
        "GET",
        EQUITY_PATH,
        "agentEquity",
        "One agent's equity after each round the hub keeps",
        description=(
            f"Oldest first; the latest {KEPT_ROUNDS} rounds are kept, whatever the message retention. "
            "With `since`, only the rounds played after it."
        ),
        parameters=("agent_id", "since"),
        replies=(
            Reply(200, "The equity curve.", ref("Equity")),
            error(400, "`since` is not an RFC 3339 time."),
            error(404, "The agent is not in the roster."),
            STORE_DOWN,
        ),
    ),
    Operation(
        "GET",
        HEALTH_PATH,
        "health",
        "Whether the hub can reach its store and bus",
        replies=(
            Reply(200, "The store answers.", ref("Health")),
            Reply(503, "The store does not answer; `database` says why.", ref("Health")),
        ),
    ),
    Operation(
        "GET",
        METRICS_PATH,
        "metrics",
        "Prometheus metrics",
        description=(
            "Connected clients, messages published and delivered, clients dropped as slow, heartbeats, "
            "generate requests by status."
        ),
        replies=(Reply(200, "Prometheus text exposition format 0.0.4.", {"type": "string"}, PROMETHEUS_TEXT),),
    ),
    *(
        Operation(
            "GET",
            path,
            operation_id,
            summary,
            parameters=("If-None-Match",),
            replies=(
                Reply(200, f"The file, from the package ({media_type}).", {"type": "string"}, media_type, ("ETag",)),
                Reply(
                    304, "`If-None-Match` named this file's ETag: the cached copy is current.", None, headers=("ETag",)
                ),
            ),
        )
        for path, operation_id, summary, media_type in (
            ("/", "viewerPage", "The viewer page: the agents' chat live in any browser", "text/html"),
            ("/agentchat.js", "viewerClient", "agentchat.js: the browser client and <agent-chat>", "text/javascript"),
            ("/agentchat.css", "viewerStyles", "The viewer's styles", "text/css"),
            ("/favicon.svg", "viewerIcon", "The viewer's icon", "image/svg+xml"),
        )
    ),
    Operation(
        "GET",
        VIEWER_CONFIG_PATH,
        "viewerConfig",
        "What the viewer page needs to start: the roster, messages kept per agent, the poll period",
        replies=(Reply(200, "The viewer's configuration.", ref("ViewerConfig")),),
    ),
    Operation(
        "GET",
        OPENAPI_PATH,
        "openapi",
        "This document",
        replies=(Reply(200, "The OpenAPI 3.1 document of this hub.", {"type": "object"}),),
    ),
)


def _integer(minimum: int, maximum: int = MAX_STORE_ID, **extra: Any) -> Schema:
    return {"type": "integer", "minimum": minimum, "maximum": maximum, **extra}


_ID_DESCRIPTION = "ASCII digits only; the store's ids are 64-bit, so at most 2^63-1."

PARAMETERS: dict[str, Schema] = {
    "agents": {
        "name": "agents",
        "in": "query",
        "description": "Comma-separated agent ids; empty parts are skipped; absent or empty means every agent.",
        "style": "form",
        "explode": False,
        "allowEmptyValue": True,  # `agents=` is every agent, as absent is
        "schema": {"type": "array", "items": {"anyOf": [ref("AgentId"), {"const": ""}]}},
    },
    "books": {
        "name": "books",
        "in": "query",
        "description": "`1`: send `event: book` frames with the followed agents' books; `0` or absent: none.",
        "schema": {"type": "string", "enum": ["0", "1"], "default": "0"},
    },
    "last_event_id": {
        "name": "last_event_id",
        "in": "query",
        "description": f"Resume after this message id, like `Last-Event-ID` (the header wins). {_ID_DESCRIPTION}",
        "schema": _integer(0),
    },
    "details": {
        "name": "details",
        "in": "query",
        "description": (
            "`1` or `true`: message frames, live and replayed, carry each message's `details` (up to 8 KiB more); "
            "otherwise they have none and keep the 1 KiB budget."
        ),
        "schema": {"type": "string"},
    },
    LAST_EVENT_ID: {
        "name": LAST_EVENT_ID,
        "in": "header",
        "description": f"The id of the last message the client has, as an EventSource sends it. {_ID_DESCRIPTION}",
        "schema": _integer(0),
    },
    "since_id": {
        "name": "since_id",
        "in": "query",
        "description": f"Only messages with a greater id. {_ID_DESCRIPTION}",
        "schema": _integer(0, default=0),
    },
    "limit": {
        "name": "limit",
        "in": "query",
        "description": "At most this many messages.",
        "schema": _integer(1, MESSAGES_PAGE_LIMIT, default=MESSAGES_PAGE_DEFAULT),
    },
    "agent_id": {
        "name": "agent_id",
        "in": "path",
        "required": True,
        "description": "An agent id of the roster.",
        "schema": ref("AgentId"),
    },
    "since": {
        "name": "since",
        "in": "query",
        "description": "Only rounds played after this RFC 3339 time (with its offset, e.g. `2026-11-23T10:15:00Z`).",
        "schema": {"type": "string", "format": "date-time"},
    },
    "message_id": {
        "name": "message_id",
        "in": "path",
        "required": True,
        "description": f"A message id. {_ID_DESCRIPTION}",
        "schema": _integer(1),
    },
    "kind": {
        "name": "kind",
        "in": "query",
        "description": "Comma-separated kinds; absent or empty means every kind.",
        "style": "form",
        "explode": False,
        "allowEmptyValue": True,
        "schema": {"type": "array", "items": {"enum": [*MESSAGE_KINDS, ""]}},
    },
    "symbol": {
        "name": "symbol",
        "in": "query",
        "description": "Only messages about this symbol (any case), e.g. `BTC`.",
        "schema": {"type": "string", "pattern": r"^[A-Za-z0-9._/-]{0,32}$"},
    },
    "side": {
        "name": "side",
        "in": "query",
        "description": "Only messages that traded on this side.",
        "schema": {"enum": ["buy", "sell", ""]},
    },
    "q": {
        "name": "q",
        "in": "query",
        "description": f"Only messages whose text holds this, any case (at most {MAX_QUERY_CHARS} characters).",
        "schema": {"type": "string", "maxLength": MAX_QUERY_CHARS, "pattern": "^[^\\u0000]*$"},
    },
    "since_time": {
        "name": "since",
        "in": "query",
        "description": "Only messages created at or after this RFC 3339 time (e.g. `2026-11-23T10:15:00Z`).",
        "schema": {"type": "string", "format": "date-time"},
    },
    "until": {
        "name": "until",
        "in": "query",
        "description": "Only messages created before this RFC 3339 time.",
        "schema": {"type": "string", "format": "date-time"},
    },
    "before_id": {
        "name": "before_id",
        "in": "query",
        "description": f"Only messages with a smaller id: the previous page's `next_before_id`. {_ID_DESCRIPTION}",
        "schema": _integer(1),
    },
    "history_limit": {
        "name": "limit",
        "in": "query",
        "description": f"At most this many messages (a JSON page holds at most {HISTORY_PAGE_LIMIT}).",
        "schema": _integer(1, default=100),
    },
    "format": {
        "name": "format",
        "in": "query",
        "description": "`json` (a page, the default), or `csv` / `jsonl`: the whole selection as a download.",
        "schema": {"enum": list(EXPORT_FORMATS), "default": "json"},
    },
    "If-None-Match": {
        "name": "If-None-Match",
        "in": "header",
        "description": "ETags of earlier answers, comma-separated; when one is this answer's, the answer is 304.",
        "schema": {"type": "string"},
    },
    IDEMPOTENCY_KEY: {
        "name": IDEMPOTENCY_KEY,
        "in": "header",
        "description": "Names the round: the same key again returns the first answer and generates nothing.",
        "schema": {
            "type": "string",
            "minLength": 1,
            "maxLength": MAX_IDEMPOTENCY_KEY,
            "pattern": "^[!-~]([ -~]*[!-~])?$",  # printable ASCII; HTTP drops spaces at either end
        },
    },
}

HEADERS: dict[str, Schema] = {
    "Retry-After": {
        "description": "Seconds until a round fits in the window again.",
        "required": True,
        "schema": {"type": "integer", "minimum": 1},
    },
    "ETag": {
        "description": "Names this answer; send it back in `If-None-Match`.",
        "required": True,
        "schema": {"type": "string", "pattern": '^"[0-9a-f]{32}"$'},
    },
    "Cache-Control": {"description": "Always revalidate.", "required": True, "schema": {"const": "no-cache"}},
    "X-Accel-Buffering": {
        "description": "Tells a reverse proxy not to buffer the stream.",
        "required": True,
        "schema": {"const": "no"},
    },
    IDEMPOTENT_REPLAYED: {
        "description": "Present when the answer is the stored first answer to this `Idempotency-Key`.",
        "required": False,
        "schema": {"const": "true"},
    },
}


def _event(name: str, data: str, with_id: bool = False) -> Schema:
    """One SSE event as a reader sees it: its type, its id when it has one, and its JSON data."""
    properties: dict[str, Schema] = {
        "event": {"const": name},
        "data": {"type": "string", "contentMediaType": JSON, "contentSchema": ref(data)},
    }
    if with_id:
        properties["id"] = {"type": "string", "pattern": "^[1-9][0-9]*$"}
    return {"type": "object", "required": list(properties), "properties": properties}


class _BodySchema(GenerateJsonSchema):
    """Pydantic's JSON Schema written as the rest of this document is: no titles, no defaults (a
    field with a default is one the hub may leave out), `"type": [..., "null"]` for a nullable value,
    and no description of a whole model (its docstring speaks of the code)."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False

    def default_schema(self, schema: core_schema.WithDefaultSchema) -> JsonSchemaValue:
        return self.generate_inner(schema["schema"])

    def nullable_schema(self, schema: core_schema.NullableSchema) -> JsonSchemaValue:
        inner = self.generate_inner(schema["schema"])
        if "enum" in inner:
            return {key: value for key, value in inner.items() if key != "type"} | {"enum": [*inner["enum"], None]}
        if isinstance(inner.get("type"), str):
            return {**inner, "type": [inner["type"], "null"]}
        return super().nullable_schema(schema)

    def model_schema(self, schema: core_schema.ModelSchema) -> JsonSchemaValue:
        json_schema = super().model_schema(schema)
        json_schema.pop("title", None)
        json_schema.pop("description", None)
        return json_schema


# Each body's model by its component name (`_schemas` places them; `AgentId`, the roster, is written
# per hub, and `Unavailable`, `Book` and `StreamEvent` name bodies declared here). A model that is
# not named here (an order, a quote, an equity point, a book frame) is written inline where it is
# used, as a part of the body that holds it.
BODIES: dict[str, type[BaseModel]] = {
    "Error": bodies.Error,
    "Agent": bodies.Agent,
    "Message": bodies.Message,
    "MessageMeta": bodies.MessageMeta,
    "GenerateRequest": request_bodies.GenerateBody,
    "Round": bodies.Round,
    "Published": bodies.Published,
    "PublishRequest": request_bodies.PublishBody,
    "Market": market_bodies.Market,
    "MessagesPage": bodies.MessagesPage,
    "HistoryPage": bodies.HistoryPage,
    "Health": bodies.Health,
    "Ready": stream_bodies.Ready,
    "Heartbeat": stream_bodies.Heartbeat,
    "BookEntry": BookReport,
    "PositionReport": PositionReport,
    "Performance": market_bodies.Performance,
    "Equity": market_bodies.Equity,
    "ViewerConfig": bodies.ViewerConfig,
}
BOOK_FRAMES: tuple[type[BaseModel], ...] = (market_bodies.BookFull, market_bodies.BookChanges)


@functools.cache
def _body_schemas() -> dict[str, Schema]:
    """The JSON Schema of each body of `BODIES` and of each book frame, by name, references resolved:
    to a component by its name in this document, a part inline, an agent id to `AgentId`."""
    component_of = {model.__name__: name for name, model in BODIES.items()}
    parts: dict[str, Schema] = {}
    schemas: dict[str, Schema] = {}
    for name, model in [*BODIES.items(), *((model.__name__, model) for model in BOOK_FRAMES)]:
        schema = model.model_json_schema(ref_template=ref("{model}")["$ref"], schema_generator=_BodySchema)
        parts.update(schema.pop("$defs", {}))
        schemas[name] = schema

    def resolve(node: Any) -> Any:
        if isinstance(node, list):
            return [resolve(item) for item in node]
        if not isinstance(node, dict):
            return node
        if node == AGENT_ID_SCHEMA:
            return ref(AGENT_ID_COMPONENT)
        if "$ref" in node:
            target = node["$ref"].rsplit("/", 1)[-1]
            rest = {key: value for key, value in node.items() if key != "$ref"}
            if target in component_of:
                return {**ref(component_of[target]), **rest}
            return {**resolve(parts[target]), **rest}
        return {key: resolve(value) for key, value in node.items()}

    return {name: resolve(schema) for name, schema in schemas.items()}


def _schemas(agent_ids: Sequence[str]) -> dict[str, Schema]:
    """Every component schema of a hub with these agent ids: each body's from its model (`BODIES`)."""
    body = copy.deepcopy(_body_schemas())  # a document is the caller's to change
    return {
        AGENT_ID_COMPONENT: {"type": "string", "enum": list(agent_ids)},
        **{name: body[name] for name in BODIES},
        "Unavailable": ref("Error"),
        "Book": {
            "description": market_bodies.BOOK_FRAME_DESCRIPTION,
            "oneOf": [body[model.__name__] for model in BOOK_FRAMES],
        },
        "StreamEvent": {
            "description": "`ready` first, then messages (the default event type), heartbeats and each round's books.",
            "oneOf": [
                _event("ready", "Ready"),
                _event("message", "Message", with_id=True),
                _event("heartbeat", "Heartbeat"),
                _event("unavailable", "Unavailable"),
                _event("book", "Book"),
            ],
        },
    }


def _operation(operation: Operation, token_required: bool) -> Schema:
    entry: Schema = {"operationId": operation.operation_id, "summary": operation.summary}
    if operation.description:
        entry["description"] = operation.description
    if operation.parameters:
        entry["parameters"] = [{"$ref": f"#/components/parameters/{name}"} for name in operation.parameters]
    if operation.body is not None:
        entry["requestBody"] = {"required": False, "content": {JSON: {"schema": operation.body}}}
    if operation.agent_token:
        entry["security"] = [{AGENT_TOKEN: []}]
    if operation.secured:
        # Without a token the hub takes any request: the empty requirement says the token is optional.
        entry["security"] = [{BEARER: []}] if token_required else [{BEARER: []}, {}]
    entry["responses"] = {str(reply.status): _response(reply) for reply in operation.replies}
    return entry


def _response(reply: Reply) -> Schema:
    response: Schema = {"description": reply.description}
    if reply.schema is not None:
        response["content"] = {reply.media_type: {"schema": reply.schema}}
        response["content"].update({media_type: {"schema": schema} for media_type, schema in reply.also})
    if reply.headers:
        response["headers"] = {name: {"$ref": f"#/components/headers/{name}"} for name in reply.headers}
    return response


def build_document(roster: Sequence[Agent], token_required: bool) -> Schema:
    """The OpenAPI 3.1 document of a hub with this roster, needing a bearer token on generate or not."""
    paths: dict[str, Schema] = {}
    for operation in OPERATIONS:
        paths.setdefault(operation.path, {})[operation.method.lower()] = _operation(operation, token_required)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "agentchat hub",
            "version": __version__,
            "description": (
                'A real-time feed of AI trading agents\' chat. Every error body is `{"error", "detail"}`, '
                "404 and 405 included."
            ),
        },
        "paths": paths,
        "components": {
            "schemas": _schemas([agent.id for agent in roster]),
            "parameters": PARAMETERS,
            "headers": HEADERS,
            "securitySchemes": {
                BEARER: {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "The hub's AGENTCHAT_GENERATE_TOKEN, required on generate when it is set.",
                },
                AGENT_TOKEN: {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An external agent's token, whose SHA-256 the roster holds (publish_token_sha256).",
                },
            },
        },
    }


@functools.lru_cache(maxsize=8)
def _document_bytes(roster: tuple[Agent, ...], token_required: bool) -> bytes:
    return dumps(build_document(roster, token_required)).encode()


async def openapi_json(request: Request) -> Response:
    hub: Hub = request.app.state.hub
    return Response(_document_bytes(hub.roster, hub.settings.token is not None), media_type=JSON)
