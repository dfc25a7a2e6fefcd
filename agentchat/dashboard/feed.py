"""Each browser session's live feed, and its lifecycle.

**One `RealtimeAgentMessages` per browser session**, not one per server process, because:

- The sidebar's SSE on/off, fallback polling on/off and poll interval are settings of the feed
  itself. With one shared feed, one operator switching SSE off would switch it off for every tab.
- Each session's view stays its own: the feed follows every agent, and the agent picker and the
  layout only filter and arrange what is drawn (session state), so changing them reconnects nothing.
- The cost is one SSE connection per open tab, which is what the hub's fan-out is built for.

**Lifecycle.** `session_feed()` is `st.cache_resource(scope="session", on_release=SessionFeed.release)`.
Streamlit releases a session's resources when its websocket disconnects (tab closed, network lost)
and when the session shuts down. The release closes the feed, on a thread of its own because it
runs on Streamlit's event loop: the feed's socket is shut down and its thread joined within about
a second. A tab that reconnects gets a fresh feed, which replays what the hub retains, so nothing
is lost. `SessionFeed` holds at most one feed: new settings close the old feed before the new one
opens, so toggling SSE ten times leaves one connection, not ten.

The feed's thread never calls `st.*`; pages read `feed.snapshot()`, an immutable consistent copy.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import streamlit as st

from agentchat.client import RealtimeAgentMessages
from agentchat.errors import AgentchatError

__all__ = [
    "FeedConfig",
    "SessionEnded",
    "SessionFeed",
    "session_feed",
    "settle",
    "wait_until_seen",
    "wait_while_connecting",
]

FIRST_STATE_SECONDS = 2.0  # how long a page waits for a new feed to connect (or fail) before drawing
HISTORY_QUIET_SECONDS = 0.1  # ...and then for the history replay to stop arriving
HISTORY_LIMIT_SECONDS = 1.0


class SessionEnded(AgentchatError):
    """A feed was asked of a session whose resources were already released."""


@dataclass(frozen=True, slots=True)
class FeedConfig:
    """Everything a feed is opened with; a different config means a different feed."""

    hub_url: str
    enable_sse: bool
    enable_fallback_polling: bool
    poll_seconds: float
    max_per_agent: int

    def open(self) -> RealtimeAgentMessages:
        return RealtimeAgentMessages(
            self.hub_url,
            enable_sse=self.enable_sse,
            enable_fallback_polling=self.enable_fallback_polling,
            fallback_poll_interval=self.poll_seconds,
            max_per_agent=self.max_per_agent,
            details=True,  # the cards' folded "why": bounded by the feed's max_per_agent x 8 KiB
        )


class SessionFeed:
    """At most one open feed for one session: replaced when the config changes, closed with the session.

    Thread-safe: a script run and Streamlit's release of the session may meet here.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._config: FeedConfig | None = None
        self._feed: RealtimeAgentMessages | None = None
        self._closed = False

    def feed(self, config: FeedConfig) -> RealtimeAgentMessages:
        """The session's feed for `config`; a new one (after closing the old) when the config changed.

        A new feed is given a moment to connect and replay its history, so the first page drawn
        with it shows the messages and the real state rather than "connecting" and nothing.
        """
        with self._lock:
            if self._closed:
                raise SessionEnded("this session has ended; reload the page")
            if self._feed is not None and self._config == config:
                return self._feed
            old, self._feed, self._config = self._feed, config.open(), config
            new = self._feed
        if old is not None:
            old.close()
        settle(new)
        return new

    @property
    def current(self) -> RealtimeAgentMessages | None:
        with self._lock:
            return self._feed

    def close(self) -> None:
        """Close the feed (its thread ends, its socket is shut down); later `feed()` calls raise."""
        with self._lock:
            self._closed = True
            feed, self._feed, self._config = self._feed, None, None
        if feed is not None:
            feed.close()

    def release(self) -> None:
        """`close()` without waiting: Streamlit calls this on its event loop when a session disconnects."""
        threading.Thread(target=self.close, name="agentchat-release-feed", daemon=True).start()


@st.cache_resource(scope="session", on_release=SessionFeed.release, show_spinner=False)
def session_feed() -> SessionFeed:
    """This browser session's feed holder (see the module docstring for its lifecycle)."""
    return SessionFeed()


def wait_while_connecting(feed: RealtimeAgentMessages, timeout_seconds: float) -> int:
    """Wait (at most `timeout_seconds`) for the feed to leave `connecting`; the version it was last seen at."""
    deadline = time.monotonic() + timeout_seconds
    version = feed.snapshot().version
    while not feed.closed and feed.state == "connecting" and (remaining := deadline - time.monotonic()) > 0:
        version = feed.wait_for_change(version, remaining)
    return version


def settle(feed: RealtimeAgentMessages) -> None:
    """Wait (briefly) for a new feed to leave `connecting`, then for its history replay to go quiet."""
    version = wait_while_connecting(feed, FIRST_STATE_SECONDS)
    deadline = time.monotonic() + HISTORY_LIMIT_SECONDS
    while not feed.closed and time.monotonic() < deadline:
        changed = feed.wait_for_change(version, HISTORY_QUIET_SECONDS)
        if changed == version:
            return
        version = changed


def wait_until_seen(feed: RealtimeAgentMessages, message_id: int, timeout_seconds: float) -> bool:
    """Wait until the feed has read up to `message_id` (e.g. right after a Generate); False at the timeout."""
    deadline = time.monotonic() + timeout_seconds
    snapshot = feed.snapshot()
    while (snapshot.diagnostics.last_event_id or 0) < message_id:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or feed.closed:
            return False
        feed.wait_for_change(snapshot.version, remaining)
        snapshot = feed.snapshot()
    return True
