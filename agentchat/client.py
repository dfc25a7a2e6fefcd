"""`RealtimeAgentMessages`: the hub's messages in a Python process, SSE first, polling as fallback.

The Python twin of a browser's "EventSource, else poll" hook: the dashboard keeps one per
process, and anyone can use it (`from agentchat import RealtimeAgentMessages`).

This module is the feed's API, its thread and its two transports (the SSE stream and the
fallback poll). What it keeps is `FeedBuffer` (`feed_buffer.py`: dedupe, order, trim); when it
connects and polls is `FeedSchedule` (`feed_schedule.py`: backoff, poll interval); the wire is
`HubClient` (`hub_client.py`) and `EventStream` (`event_stream.py`), speaking the contract
(`contract.py`), with errors in words (`http_errors.py`).

Deliberate choices, each for a reason:

- **One background thread per feed.** It holds the SSE stream and, while the stream is down,
  runs reconnect attempts and fallback polls off one timetable. One thread means one owner of
  the sockets and one thing for `close()` to join.
- **History through the stream.** The first connection sends `Last-Event-ID: 0` (or the id
  given), so the hub replays what it retains and goes live with no gap and no duplicate; a
  separate history request would race the live frames.
- **A read timeout is the liveness check.** A half-open TCP connection never fails by itself;
  once `ready` gives the heartbeat period, the stream's read timeout becomes two periods, and a
  read that times out is a dead connection.
- **The resume position** is the highest id seen, or `ready.last_id` once a heartbeat proves the
  replay before it has been read. So a feed filtered to quiet agents still resumes close to the
  head, and `gap` in diagnostics means messages were really lost to retention.
- **One store's ids.** `ready` and every poll name the hub's store (`store_id`). When another
  store turns up behind the same address (a reset or replaced database), the kept messages and
  the position belong to the old one: the feed empties and reads the new store from the start.
- **Prompt close.** `close()` shuts the stream's socket down, which wakes a blocked read at once
  (closing the response from another thread would race the reader), then joins the thread.
  A request still waiting on a hub that accepted the connection but never answers ends by its
  own timeout on the (daemon) thread; `close()` does not wait for it beyond one second.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx

from agentchat.contract import EVENT_STREAM, MESSAGES_PAGE_LIMIT
from agentchat.event_stream import EventStream
from agentchat.feed_buffer import FeedBuffer
from agentchat.feed_schedule import FeedSchedule
from agentchat.http_errors import describe_error, describe_response
from agentchat.hub_client import HubClient
from agentchat.message import parse_timestamp

__all__ = ["FeedDiagnostics", "FeedSnapshot", "RealtimeAgentMessages", "State"]

logger = logging.getLogger(__name__)

State = Literal["connecting", "realtime", "polling", "error"]
MIN_LIVENESS_SECONDS = 1.0  # a floor under "two heartbeat periods" for very short test periods
CLOSE_JOIN_SECONDS = 1.0
# What reading a stream can raise: httpx's errors (timeouts included), a closed stream, bytes that are not UTF-8.
_READ_ERRORS = (httpx.HTTPError, httpx.StreamError, OSError, ValueError)


@dataclass(frozen=True, slots=True)
class FeedDiagnostics:
    """What the Diagnostics page shows about one feed; a copy, safe to keep."""

    hub_url: str
    heartbeat_seconds: float | None  # the hub's period, from the last `ready`
    events_received: int  # every SSE event: ready, heartbeat, message
    messages_received: int  # distinct messages added to the feed, by stream or polling
    duplicates_dropped: int  # arrivals already shown (or older than everything kept)
    heartbeats: int
    reconnects: int  # SSE connection attempts after the first one
    polls: int  # fallback polls made (successful or not)
    last_heartbeat_at: datetime | None  # wall clock, UTC
    last_event_id: int | None  # where the feed resumes from
    last_error: str | None  # the latest failure, kept after recovery
    gap: bool  # a resume found messages removed by retention before the feed saw them
    latencies_seconds: tuple[float, ...]  # recent delivery latencies, `created_at` to arrival, oldest first
    store_id: str | None = None  # the store the hub serves, as it last said
    store_changes: int = 0  # times another store turned up behind the hub's address (the feed started over)

    def heartbeat_age_seconds(self, now: datetime | None = None) -> float | None:
        """Seconds since the last heartbeat (None before the first)."""
        if self.last_heartbeat_at is None:
            return None
        return ((now or datetime.now(UTC)) - self.last_heartbeat_at).total_seconds()


@dataclass(frozen=True, slots=True)
class FeedSnapshot:
    """One consistent view of a feed for a UI: its messages, its state and its diagnostics.

    `messages` is newest first, at most `max_per_agent` per agent, each a read-only mapping.
    `version` grows with every change; pass it to `wait_for_change`.
    """

    version: int
    state: State
    messages: tuple[Mapping[str, Any], ...]
    diagnostics: FeedDiagnostics


class _Failed(Exception):
    """A stream ended or a poll failed; the message says why, for `last_error`."""


class RealtimeAgentMessages:
    """A live, deduplicated view of the hub's messages: SSE while it works, HTTP polling while it does not.

    The constructor starts a background thread at once; call `close()` (or use `with`) to stop it.
    `state` is `connecting` until the first stream or poll, `realtime` while SSE is live, `polling`
    while SSE is down and the fallback works, and `error` when neither does (`last_error` says why).

    Keyword extras: `last_event_id` is where the feed starts (0, the default, shows everything the
    hub retains); `max_backoff_seconds` caps the reconnect delay (the server's `retry:` is its base);
    `liveness_seconds` overrides "two heartbeat periods"; `request_timeout` bounds each plain request
    and the wait for a stream's first bytes; `latency_samples` is how many latencies diagnostics keep;
    `details` asks the stream for each message's `details` (`?details=1`; the dashboard's cards show
    them folded), which messages brought by a poll do not carry.
    """

    def __init__(
        self,
        hub_url: str,
        agent_ids: Sequence[str] | None = None,
        enable_sse: bool = True,
        enable_fallback_polling: bool = True,
        fallback_poll_interval: float = 45,
        max_per_agent: int = 20,
        *,
        last_event_id: int = 0,
        max_backoff_seconds: float = 10.0,
        liveness_seconds: float | None = None,
        request_timeout: float = 10.0,
        latency_samples: int = 100,
        details: bool = False,
    ) -> None:
        parts = urlsplit(hub_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"hub_url must be an http(s) URL, got {hub_url!r}")
        if fallback_poll_interval <= 0 or max_per_agent < 1 or last_event_id < 0 or request_timeout <= 0:
            raise ValueError(
                "fallback_poll_interval and request_timeout must be > 0, max_per_agent >= 1, last_event_id >= 0"
            )
        self.hub_url = hub_url.rstrip("/")
        self.agent_ids: tuple[str, ...] | None = tuple(agent_ids) if agent_ids else None
        self.enable_sse = enable_sse
        self.enable_fallback_polling = enable_fallback_polling
        self.fallback_poll_interval = float(fallback_poll_interval)
        self.max_per_agent = max_per_agent
        self.max_backoff_seconds = max_backoff_seconds
        self.liveness_seconds = liveness_seconds
        self.request_timeout = request_timeout
        self.details = details  # `?details=1` on the stream; a poll's messages carry none (the poll keeps its budget)

        # Everything below is guarded by `_changed` (its lock); every change bumps `_version`.
        self._changed = threading.Condition()
        self._version = 0
        self._state: State = "connecting"
        self._buffer = FeedBuffer(max_per_agent, self.agent_ids, position=last_event_id)
        self._events = 0
        self._heartbeats = 0
        self._reconnects = 0
        self._polls = 0
        self._last_heartbeat_at: datetime | None = None
        self._last_error: str | None = None
        self._gap = False
        self._store_changes = 0
        self._heartbeat_seconds: float | None = None
        self._latencies: deque[float] = deque(maxlen=latency_samples)
        self._snapshot: FeedSnapshot | None = None
        self._stream_open: EventStream | None = None  # for close() to shut down
        self._poll_requested = False  # set by poll_now()
        self._closed = False

        # Owned by the worker thread alone.
        self._schedule = FeedSchedule(
            sse=enable_sse,
            polling=enable_fallback_polling,
            poll_interval_seconds=self.fallback_poll_interval,
            max_backoff_seconds=max_backoff_seconds,
            now=time.monotonic(),
        )
        self._caught_up = False  # history has been read once: later arrivals count as deliveries
        self._etag: tuple[int, str] | None = None  # (since_id, ETag) of the last poll
        self._stop = threading.Event()
        self._wake = threading.Event()  # set by close() and poll_now() to cut the thread's wait short
        if not enable_sse and not enable_fallback_polling:
            self._state, self._last_error = "error", "SSE and fallback polling are both disabled"
        self._thread = threading.Thread(target=self._run, name=f"agentchat-feed {self.hub_url}", daemon=True)
        self._thread.start()

    # -- public API -----------------------------------------------------------------------

    @property
    def state(self) -> State:
        with self._changed:
            return self._state

    @property
    def messages(self) -> list[dict[str, Any]]:
        """Newest first, at most `max_per_agent` per agent; fresh dicts the caller may change."""
        return [_plain(message) for message in self.snapshot().messages]

    @property
    def closed(self) -> bool:
        return self._closed

    def snapshot(self) -> FeedSnapshot:
        """Messages, state and diagnostics taken together under the feed's lock (cached per version)."""
        with self._changed:
            if self._snapshot is None or self._snapshot.version != self._version:
                self._snapshot = self._build_snapshot()
            return self._snapshot

    def wait_for_change(self, version: int, timeout: float | None = None) -> int:
        """Block until the feed's version differs from `version` (or `timeout`); return the current version."""
        with self._changed:
            self._changed.wait_for(lambda: self._version != version or self._closed, timeout)
            return self._version

    def poll_now(self, timeout: float = 5.0) -> bool:
        """While polling, fetch new messages now and wait for that poll; False if not polling or no answer in time.

        A page that reruns every poll interval calls this so that what it draws is never older
        than one interval, instead of up to two when its timer and the feed's drift apart.
        """
        with self._changed:
            if self._closed or self._state == "realtime" or not self.enable_fallback_polling:
                return False
            polls = self._polls
            self._poll_requested = True
        self._wake.set()
        with self._changed:
            return self._changed.wait_for(lambda: self._polls != polls or self._closed, timeout) and not self._closed

    def close(self) -> None:
        """Stop the thread and close the stream; returns within about a second."""
        with self._changed:
            if self._closed:
                return
            self._closed = True
            self._stop.set()
            self._wake.set()
            stream = self._stream_open
            self._bump()
        if stream is not None:
            stream.shutdown()
        self._thread.join(CLOSE_JOIN_SECONDS)
        if self._thread.is_alive():
            logger.warning("feed thread for %s still finishing a request; it ends by its own timeout", self.hub_url)

    def __enter__(self) -> RealtimeAgentMessages:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<RealtimeAgentMessages {self.hub_url} {self.state}>"

    # -- the worker thread -------------------------------------------------------------------

    def _run(self) -> None:
        try:
            with HubClient(self.hub_url, timeout=self.request_timeout) as hub:
                self._loop(hub)
        except Exception as error:  # a bug must show up in the UI, not kill the feed silently
            logger.exception("feed for %s stopped", self.hub_url)
            with self._changed:
                self._state, self._last_error = "error", f"feed stopped: {describe_error(error)}"
                self._bump()

    def _loop(self, hub: HubClient) -> None:
        """Do what the schedule says is due: stream while possible; between attempts, poll if allowed."""
        schedule = self._schedule
        attempts = 0
        while not self._stop.is_set():
            now = time.monotonic()
            if schedule.connect_due(now):
                if attempts:
                    with self._changed:
                        self._reconnects += 1
                        self._bump()
                attempts += 1
                went_live = self._stream(hub)
                if self._stop.is_set():
                    return
                schedule.stream_ended(time.monotonic(), went_live)
                continue
            with self._changed:
                asked, self._poll_requested = self._poll_requested, False
            if schedule.poll_due(now, asked):
                self._poll(hub)
                schedule.polled(time.monotonic())
                continue
            self._wake.wait(schedule.seconds_until_due(now))
            self._wake.clear()

    # -- SSE ---------------------------------------------------------------------------------------

    def _stream(self, hub: HubClient) -> bool:
        """One SSE connection, read until it ends; True if it went live (a `ready` arrived)."""
        with self._changed:
            resume_from = self._buffer.position
        try:
            stream = hub.open_stream(last_event_id=resume_from, agent_ids=self.agent_ids, details=self.details)
        except httpx.HTTPError as error:
            self._stream_failed(f"SSE: cannot connect to {self.hub_url}: {describe_error(error)}")
            return False
        went_live = False
        try:
            with self._changed:
                if self._stop.is_set():
                    return False
                self._stream_open = stream
            if stream.status_code != 200:
                raise _Failed(f"SSE: {describe_response(stream.response)}")
            if not stream.content_type.startswith(EVENT_STREAM):
                raise _Failed(f"SSE: the hub answered {stream.content_type or 'no content type'}, not an event stream")
            history_read = self._caught_up  # if not, the replay after `ready` is history, not a delivery
            replay_up_to: int | None = None  # the hub's last id at `ready`, until a heartbeat passes it
            live_after = 0
            for event in stream.events():
                if stream.retry_milliseconds is not None:
                    self._schedule.retry_seconds = stream.retry_milliseconds / 1000
                if event.event == "ready":
                    replay_up_to = self._on_ready(stream, event.data, resume_from)
                    live_after = 0 if history_read else replay_up_to
                    went_live = True
                elif event.event == "heartbeat":
                    self._on_heartbeat(replay_up_to)
                    replay_up_to = None
                elif event.event == "message":
                    self._on_message(event.data, live_after)
                elif event.event == "unavailable":  # a transient condition: come back after retry:
                    detail = _json_object(event.data).get("detail")
                    raise _Failed(f"SSE: the hub is unavailable for now: {detail or 'no detail'}")
                else:
                    self._count_event()
            raise _Failed("SSE: the hub ended the stream")
        except _Failed as ended:
            reason = str(ended)
        except _READ_ERRORS as error:
            reason = f"SSE: {describe_error(error)}"
            if reason == "SSE: timed out" and went_live:
                reason = "SSE: no event or heartbeat for two heartbeat periods; reconnecting"
        finally:
            with self._changed:
                self._stream_open = None
            stream.close()
        if not self._stop.is_set():
            self._stream_failed(reason)
        return went_live

    def _on_ready(self, stream: EventStream, data: str, resume_from: int) -> int:
        """Go live: note the period and `gap`, arm the liveness timeout; return the hub's last id."""
        ready = _json_object(data)
        heartbeat = ready.get("heartbeat_seconds")
        heartbeat_seconds = float(heartbeat) if isinstance(heartbeat, int | float) and heartbeat > 0 else None
        liveness = self.liveness_seconds or (2 * heartbeat_seconds if heartbeat_seconds else None)
        if liveness is not None:
            stream.set_read_timeout(max(MIN_LIVENESS_SECONDS, liveness))
        last_id = ready.get("last_id")
        store_id = ready.get("store_id")
        with self._changed:
            self._events += 1
            if self._buffer.follow_store(store_id if isinstance(store_id, str) else None):
                self._store_changed(store_id)
                if resume_from > 0 and not ready.get("gap"):  # this replay starts after an id of the old store
                    self._bump()
                    raise _Failed("SSE: the hub serves another store now; reading it from the start")
                resume_from = 0
            self._state = "realtime"
            self._heartbeat_seconds = heartbeat_seconds
            # From position 0 a gap is only retention doing its job; after a real position it is a loss.
            self._gap = self._gap or (bool(ready.get("gap")) and resume_from > 0)
            self._bump()
        self._caught_up = True
        return int(last_id) if isinstance(last_id, int) else 0

    def _on_heartbeat(self, replay_up_to: int | None) -> None:
        with self._changed:
            self._events += 1
            self._heartbeats += 1
            self._last_heartbeat_at = datetime.now(UTC)
            if replay_up_to is not None:  # everything replayed before this heartbeat has been read
                self._buffer.advance(replay_up_to)
            self._bump()

    def _on_message(self, data: str, live_after: int) -> None:
        """Add a message; its latency counts only if it is newer than the history replayed at start."""
        message = _json_object(data)
        try:
            message_id = int(message["id"])
        except (KeyError, TypeError, ValueError):
            logger.warning("ignoring an SSE message without an integer id: %.80r", data)
            message_id = None
        with self._changed:
            self._events += 1
            if message_id is not None:
                self._add(message, live=message_id > live_after)
            self._bump()

    def _count_event(self) -> None:
        with self._changed:
            self._events += 1
            self._bump()

    def _stream_failed(self, reason: str) -> None:
        """The stream is down: say why; `polling` or `error` follows from the next poll."""
        logger.info("feed %s: %s", self.hub_url, reason)
        with self._changed:
            self._last_error = reason
            if not self.enable_fallback_polling or self._state == "realtime":
                self._state = "error" if not self.enable_fallback_polling else "connecting"
            self._bump()

    # -- polling -----------------------------------------------------------------------------------

    def _poll(self, hub: HubClient) -> None:
        """Fetch every retained message after the position, page by page; state follows the outcome."""
        live = self._caught_up
        try:
            while not self._stop.is_set():
                with self._changed:
                    since = self._buffer.position
                etag = self._etag[1] if self._etag and self._etag[0] == since else None
                response = hub.messages(since_id=since, agent_ids=self.agent_ids, limit=MESSAGES_PAGE_LIMIT, etag=etag)
                if response.status_code == 304:
                    break
                if response.status_code != 200:
                    raise _Failed(f"polling: {describe_response(response)}")
                body = response.json()
                page = body["messages"]
                new_etag = response.headers.get("etag")
                self._etag = (since, new_etag) if new_etag else None
                with self._changed:
                    store_id = body.get("store_id")
                    if self._buffer.follow_store(store_id if isinstance(store_id, str) else None):
                        self._store_changed(store_id)
                        if since > 0 and not body.get("gap"):  # this page starts after an id of the old store
                            self._bump()
                            continue
                    for message in page:
                        self._add(message, live=live)
                    self._bump()
                if len(page) < MESSAGES_PAGE_LIMIT:
                    break
        except _Failed as failed:
            self._poll_done(str(failed))
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as error:
            self._poll_done(f"polling: {describe_error(error)}")
        else:
            self._caught_up = True
            self._poll_done(None)

    def _poll_done(self, error: str | None) -> None:
        with self._changed:
            self._polls += 1
            if self._state != "realtime":
                self._state = "polling" if error is None else "error"
            if error is not None:
                self._last_error = error
            self._bump()

    # -- the kept messages (callers hold the lock) ---------------------------------------------------

    def _add(self, message: Mapping[str, Any], live: bool) -> None:
        """Keep a message once (see `FeedBuffer`); a live one's delivery latency goes to diagnostics."""
        if self._buffer.add(message) and live:
            with contextlib.suppress(KeyError, ValueError, TypeError):
                created = parse_timestamp(str(message["created_at"]))
                self._latencies.append((datetime.now(UTC) - created).total_seconds())

    def _store_changed(self, store_id: object) -> None:
        """Another store is behind the hub's address (caller holds the lock): say so; the buffer has emptied."""
        logger.warning(
            "feed %s: the hub serves another store (%s); showing its messages from the start", self.hub_url, store_id
        )
        self._store_changes += 1
        self._last_error = f"the hub serves another store now ({store_id}); its messages are shown from the start"

    def _bump(self) -> None:
        self._version += 1
        self._changed.notify_all()

    def _build_snapshot(self) -> FeedSnapshot:
        diagnostics = FeedDiagnostics(
            hub_url=self.hub_url,
            heartbeat_seconds=self._heartbeat_seconds,
            events_received=self._events,
            messages_received=self._buffer.received,
            duplicates_dropped=self._buffer.duplicates,
            heartbeats=self._heartbeats,
            reconnects=self._reconnects,
            polls=self._polls,
            last_heartbeat_at=self._last_heartbeat_at,
            last_event_id=self._buffer.position or None,
            last_error=self._last_error,
            gap=self._gap,
            latencies_seconds=tuple(self._latencies),
            store_id=self._buffer.store_id,
            store_changes=self._store_changes,
        )
        return FeedSnapshot(self._version, self._state, self._buffer.newest_first(), diagnostics)


def _json_object(data: str) -> dict[str, Any]:
    """An event's data as a JSON object ({} for anything else, so one odd frame cannot stop a feed)."""
    try:
        value = json.loads(data)
    except ValueError:
        logger.warning("ignoring an SSE event whose data is not JSON: %.80r", data)
        return {}
    return value if isinstance(value, dict) else {}


def _plain(message: Mapping[str, Any]) -> dict[str, Any]:
    copy = dict(message)
    if isinstance(copy.get("meta"), dict):
        copy["meta"] = dict(copy["meta"])
    return copy
