"""The dashboard's reads of history: a page of `GET /api/chat/history`, an export, one message.

Plain requests with a short timeout, as `hub_api` makes them: every failure is one
`AgentchatError` an operator can act on (`HubUnreachable` with how to start a hub, or the class
the hub's JSON error stands for). An export is read as the hub streams it, then handed to the
browser as one file: it is made only when the operator clicks the button.
"""

from __future__ import annotations

from typing import Any

import httpx

from agentchat.contract import HISTORY_PATH
from agentchat.dashboard.hub_api import START_HINT
from agentchat.errors import AgentchatError, HubUnreachable
from agentchat.history import HistoryFilter
from agentchat.http_errors import describe_error, describe_response, json_body, refusal
from agentchat.transport import shared_tls

__all__ = ["EXPORT_TIMEOUT_SECONDS", "HistoryPage", "export", "read_history_page"]

TIMEOUT_SECONDS = 5.0
EXPORT_TIMEOUT_SECONDS = 60.0  # a month of messages is a few MiB: more than a page's wait, still bounded

HistoryPage = tuple[list[dict[str, Any]], int | None]  # messages newest first, the next page's before_id


def _params(selection: HistoryFilter, before_id: int | None, limit: int | None, export_format: str) -> dict[str, str]:
    params = selection.params()
    if before_id is not None:
        params["before_id"] = str(before_id)
    if limit is not None:
        params["limit"] = str(limit)
    if export_format != "json":
        params["format"] = export_format
    return params


def _get(hub_url: str, params: dict[str, str], timeout: float) -> httpx.Response:
    try:
        response = httpx.get(f"{hub_url}{HISTORY_PATH}", params=params, timeout=timeout, verify=shared_tls())
    except httpx.HTTPError as error:
        raise HubUnreachable(f"the hub at {hub_url} is unreachable ({describe_error(error)}); {START_HINT}") from None
    if not response.is_success:
        raise refusal(response, f"the hub at {hub_url} answered {describe_response(response)}")
    return response


def read_history_page(
    hub_url: str, selection: HistoryFilter, before_id: int | None = None, limit: int = 50
) -> HistoryPage:
    """One page of the selection, newest first, and the `before_id` of the next (None on the last)."""
    body = json_body(_get(hub_url, _params(selection, before_id, limit, "json"), TIMEOUT_SECONDS))
    messages = body.get("messages") if isinstance(body, dict) else None
    if not isinstance(messages, list):
        raise AgentchatError(f"the hub at {hub_url} answered {HISTORY_PATH} without a list of messages")
    next_before_id = body.get("next_before_id") if isinstance(body, dict) else None
    return [item for item in messages if isinstance(item, dict)], (
        next_before_id if isinstance(next_before_id, int) else None
    )


def export(hub_url: str, selection: HistoryFilter, export_format: str) -> bytes:
    """The whole selection as the hub exports it (`csv` with its header line, or `jsonl`)."""
    return _get(hub_url, _params(selection, None, None, export_format), EXPORT_TIMEOUT_SECONDS).content
