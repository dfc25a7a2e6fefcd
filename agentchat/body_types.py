"""The field types the JSON bodies share, for the models that declare them (`hub/bodies.py`,
`hub/stream_bodies.py`, `hub/market_bodies.py`, `hub/request_bodies.py`, `market/report.py`).

- `Timestamp`: a time as `message.format_timestamp` writes it (UTC, milliseconds, `Z`).
- `AgentId`: an agent id. Which ids exist is the hub's roster, known only to a running hub, so its
  schema here is a string marked `x-roster`; `hub/openapi.py` puts a reference to its `AgentId`
  component (the roster's enum, per hub) in place of each (`AGENT_ID_SCHEMA`).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, WithJsonSchema

__all__ = ["AGENT_ID_COMPONENT", "AGENT_ID_SCHEMA", "TIMESTAMP_PATTERN", "AgentId", "Timestamp"]

AGENT_ID_COMPONENT = "AgentId"  # the OpenAPI component: the roster's ids, per hub
TIMESTAMP_PATTERN = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$"  # `format_timestamp`: UTC, milliseconds, `Z`
AGENT_ID_SCHEMA: dict[str, Any] = {"type": "string", "x-roster": "an agent id of the hub's roster"}

Timestamp = Annotated[str, Field(pattern=TIMESTAMP_PATTERN, json_schema_extra={"format": "date-time"})]
AgentId = Annotated[str, WithJsonSchema(AGENT_ID_SCHEMA)]
