"""The hub's answers that more than one page draws, read once for every session within a short time.

- `health`: `GET /healthz`, kept 2 s. The Diagnostics page shows it; the live page asks it only
  while the newest message is the offline writer's, to say whether the model is failing.
- `performance` and `equity`: the books (`GET /api/agents/performance`, `GET /api/agents/{id}/equity`),
  for the Leaderboard and the live page's line of standings. They are read again only when the
  session's feed has seen a new message: a round always has one, so the feed's last event id
  (`round_marker`) is the change marker the reads are cached on (and kept 60 s at most).

A failed read raises the `AgentchatError` of `hub_api` and is not cached.
"""

from __future__ import annotations

from typing import Any, Final

import streamlit as st

from agentchat.client import RealtimeAgentMessages
from agentchat.dashboard.hub_api import Health, HubApi

__all__ = ["BOOKS_CACHE_SECONDS", "HEALTH_CACHE_SECONDS", "equity", "health", "performance", "round_marker"]

HEALTH_CACHE_SECONDS: Final = 2
BOOKS_CACHE_SECONDS: Final = 60  # a book read is refreshed at least this often, new message or not


@st.cache_data(ttl=HEALTH_CACHE_SECONDS, show_spinner=False)
def health(hub_url: str) -> Health:
    """The hub's health, at most `HEALTH_CACHE_SECONDS` old."""
    return HubApi(hub_url, timeout_seconds=2).health()


def round_marker(feed: RealtimeAgentMessages) -> int | None:
    """What changes when a round arrives: the feed's last event id."""
    return feed.snapshot().diagnostics.last_event_id


@st.cache_data(ttl=BOOKS_CACHE_SECONDS, show_spinner=False)
def performance(hub_url: str, marker: int | None) -> dict[str, Any]:
    """Every agent's book, as of the round `marker` (`round_marker`) stands for."""
    return HubApi(hub_url, timeout_seconds=3).performance()


@st.cache_data(ttl=BOOKS_CACHE_SECONDS, show_spinner=False)
def equity(hub_url: str, agent_id: str, marker: int | None) -> list[dict[str, Any]]:
    """One agent's equity after each round, as of the round `marker` stands for."""
    return HubApi(hub_url, timeout_seconds=3).equity(agent_id)
