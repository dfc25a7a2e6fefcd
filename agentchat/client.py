"""`RealtimeAgentMessages`: the hub's messages in a Python process, SSE first, polling as fallback.

The Python twin of a browser's "EventSource, else poll" hook: the dashboard keeps one per
process, and anyone can use it (`from agentchat import RealtimeAgentMessages`).

Deliberate choices, each for a reason:

- **One background thread per feed.** It holds the SSE stream (requests + sseclient-py) and,
  while the stream is down, runs reconnect attempts and fallback polls off one timetable. One
  thread means one owner of the sockets and one thing for `close()` to join.
- **History through the stream.** The first connection sends `Last-Event-ID: 0` (or the id
  given), so the hub replays what it retains and goes live with no gap and no duplicate; a
  separate history request would race the live frames.
- **`retry:` is read off the bytes.** sseclient-py does not dispatch an event without data, and
  the hub sends `retry: 3000` in a frame of its own, so the byte source handed to sseclient-py
  notes `retry:` lines on their way through.
- **A read timeout is the liveness check.** A half-open TCP connection never fails by itself;
  once `ready` gives the heartbeat period, the socket's read timeout becomes two periods, and a
  read that times out is a dead connection.
- **The resume position** is the highest id seen, or `ready.last_id` once a heartbeat proves the
  replay before it has been read. So a feed filtered to quiet agents still resumes close to the
  head, and `gap` in diagnostics means messages were really lost to retention.
- **Dedupe with bounded memory.** A message whose id is kept already, or is older than everything
  kept for a full agent list, was shown before (or would be trimmed at once): it is dropped.
  Memory is `max_per_agent` messages per agent however long the feed runs.
- **Prompt close.** `close()` shuts the stream's socket down, which wakes a blocked read at once
  (closing the response from another thread would race the reader), then joins the thread.
  A request still waiting on a hub that accepted the connection but never answers ends by its
  own timeout on the (daemon) thread; `close()` does not wait for it beyond one second.
"""

from __future__ import annotations

import bisect
import contextlib
import json
import logging
import math
import random
import socket
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType, TracebackType
from typing import Any, Literal
from urllib.parse import urlsplit

import requests
import sseclient
import urllib3

from agentchat.errors import hub_error_phrase
from agentchat.message import parse_timestamp

logger = logging.getLogger(__name__)

State = Literal["connecting", "realtime", "polling", "error"]
STREAM_PATH = "/api/chat/stream"
MESSAGES_PATH = "/api/chat/messages"
POLL_PAGE = 1000  # the hub's maximum `limit`
DEFAULT_RETRY_SECONDS = 3.0  # what the hub sends; used until a stream says otherwise
MIN_LIVENESS_SECONDS = 1.0  # a floor under "two heartbeat periods" for very short test periods
CLOSE_JOIN_SECONDS = 1.0
_RETRY_PREFIX = b"retry:"
# What reading a stream can raise; AttributeError is urllib3 finding its file object gone after a shutdown.
_READ_ERRORS = (requests.RequestException, urllib3.exceptions.HTTPError, OSError, ValueError, AttributeError)


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


def describe_error(error: BaseException) -> str:
    """One readable phrase for a failed request ("connection refused"), not urllib3's nested repr.

    The most specific condition anywhere in the chain wins: urllib3's `NewConnectionError` is also
    a `ConnectTimeoutError`, so "refused" must be looked for before "timed out".
    """
    causes = list(_causes(error))
    for condition, phrase in _CONDITIONS:
        for cause in causes:
            if isinstance(cause, condition):
                return phrase if phrase else str(getattr(cause, "strerror", "") or cause)
    for cause in causes:
        if isinstance(cause, OSError) and cause.strerror:
            return str(cause.strerror)
    text = str(error).strip().splitlines()
    return (text[0] if text else type(error).__name__)[:200]


_CONDITIONS: tuple[tuple[type[BaseException] | tuple[type[BaseException], ...], str], ...] = (
    (ConnectionRefusedError, "connection refused"),
    (socket.gaierror, "cannot resolve the host name"),
    (ConnectionResetError, "connection reset by the hub"),
    ((TimeoutError, requests.Timeout, urllib3.exceptions.TimeoutError), "timed out"),
    ((requests.exceptions.ChunkedEncodingError, urllib3.exceptions.ProtocolError), "connection broken"),
)


def _causes(error: BaseException) -> Iterator[BaseException]:
    """The error and what it wraps: `__cause__`, `__context__`, urllib3's `.reason`, exception args."""
    seen: set[int] = set()
    queue: deque[BaseException] = deque([error])
    while queue:
        current = queue.popleft()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        for inner in (current.__cause__, current.__context__, getattr(current, "reason", None), *current.args):
            if isinstance(inner, BaseException):
                queue.append(inner)


def describe_response(response: requests.Response) -> str:
    """`HTTP 400 unknown_agent: ...` from the hub's JSON error body, or the status line."""
    try:
        body = response.json()
    except ValueError:
        body = None
    phrase = hub_error_phrase(body)
    if phrase is not None:
        return f"HTTP {response.status_code} {phrase}"
    return f"HTTP {response.status_code} {response.reason or ''}".rstrip()


def shutdown_socket(response: requests.Response) -> None:
    """Wake a thread blocked reading `response` by shutting its socket down (closing would race it)."""
    sock = getattr(getattr(response.raw, "connection", None), "sock", None)
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def set_read_timeout(response: requests.Response, seconds: float) -> None:
    """Change the read timeout of a streaming response's socket, e.g. once `ready` gives the period."""
    sock = getattr(getattr(response.raw, "connection", None), "sock", None)
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.settimeout(seconds)


def body_chunks(response: requests.Response) -> Iterator[bytes]:
    """The body as it arrives: whole HTTP chunks, or whatever one read returns when not chunked."""
    raw = response.raw
    if getattr(raw, "chunked", False):
        yield from response.iter_content(chunk_size=None)
        return
    while chunk := raw.read1(65536):
        yield chunk


class RetryWatcher:
    """Hands the stream's bytes to sseclient-py unchanged and remembers the last `retry:` value.

    Only the first few bytes of each line are kept to recognise it, so a long `data:` line costs nothing.
    """

    _HEAD_BYTES = 32

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._head = b""
        self.retry_milliseconds: int | None = None

    def __iter__(self) -> RetryWatcher:
        return self

    def __next__(self) -> bytes:
        chunk = next(self._chunks)
        parts = chunk.split(b"\n")
        for index, part in enumerate(parts):
            if len(self._head) < self._HEAD_BYTES:
                self._head += part[: self._HEAD_BYTES - len(self._head)]
            if index < len(parts) - 1:  # the line ended in this chunk
                self._line_ended(self._head.rstrip(b"\r"))
                self._head = b""
        return chunk

    def _line_ended(self, head: bytes) -> None:
        if head.startswith(_RETRY_PREFIX):
            value = head[len(_RETRY_PREFIX) :].strip()
            if value.isdigit():
                self.retry_milliseconds = int(value)


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
    and the wait for a stream's first bytes; `latency_samples` is how many latencies diagnostics keep.
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
        self._query: dict[str, str] = {"agents": ",".join(self.agent_ids)} if self.agent_ids else {}

        # Everything below is guarded by `_changed` (its lock); every change bumps `_version`.
        self._changed = threading.Condition()
        self._version = 0
        self._state: State = "connecting"
        self._by_agent: dict[str, list[Mapping[str, Any]]] = {}
        self._kept_ids: set[int] = set()
        self._position = last_event_id
        self._events = 0
        self._messages_received = 0
        self._duplicates = 0
        self._heartbeats = 0
        self._reconnects = 0
        self._polls = 0
        self._last_heartbeat_at: datetime | None = None
        self._last_error: str | None = None
        self._gap = False
        self._heartbeat_seconds: float | None = None
        self._latencies: deque[float] = deque(maxlen=latency_samples)
        self._snapshot: FeedSnapshot | None = None
        self._response: requests.Response | None = None  # the open stream, for close() to shut down
        self._closed = False

        # Owned by the worker thread alone.
        self._retry_seconds = DEFAULT_RETRY_SECONDS
        self._caught_up = False  # history has been read once: later arrivals count as deliveries
        self._etag: tuple[int, str] | None = None  # (since_id, ETag) of the last poll
        self._stop = threading.Event()
        self._wake = threading.Event()  # set by close() and poll_now() to cut the thread's wait short
        self._poll_requested = False
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
            response = self._response
            self._bump()
        if response is not None:
            shutdown_socket(response)
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
        session = requests.Session()
        try:
            self._loop(session)
        except Exception as error:  # a bug must show up in the UI, not kill the feed silently
            logger.exception("feed for %s stopped", self.hub_url)
            with self._changed:
                self._state, self._last_error = "error", f"feed stopped: {describe_error(error)}"
                self._bump()
        finally:
            session.close()

    def _loop(self, session: requests.Session) -> None:
        """The timetable: stream while possible; between attempts, poll every interval if allowed."""
        failures = 0
        attempts = 0
        now = time.monotonic()
        next_connect = now if self.enable_sse else math.inf
        polling = self.enable_fallback_polling and not self.enable_sse
        next_poll = now if polling else math.inf
        while not self._stop.is_set():
            now = time.monotonic()
            if now >= next_connect:
                if attempts:
                    with self._changed:
                        self._reconnects += 1
                        self._bump()
                attempts += 1
                went_live = self._stream(session)
                if self._stop.is_set():
                    return
                failures = 1 if went_live else failures + 1
                next_connect = time.monotonic() + self._backoff(failures)
                if self.enable_fallback_polling and (went_live or not polling):
                    polling, next_poll = True, time.monotonic()  # SSE just went down: poll at once, then every interval
                continue
            with self._changed:
                asked, self._poll_requested = self._poll_requested, False
            if polling and (now >= next_poll or asked):
                self._poll(session)
                next_poll = time.monotonic() + self.fallback_poll_interval
                continue
            wake_at = min(next_connect, next_poll if polling else math.inf)
            self._wake.wait(None if wake_at == math.inf else max(0.0, wake_at - now))
            self._wake.clear()

    def _backoff(self, failures: int) -> float:
        """The server's `retry:` doubled per consecutive failure, capped, with ±20 % jitter against herds."""
        delay = min(self.max_backoff_seconds, self._retry_seconds * 2 ** (failures - 1))
        return float(delay * random.uniform(0.8, 1.2))

    # -- SSE ---------------------------------------------------------------------------------------

    def _stream(self, session: requests.Session) -> bool:
        """One SSE connection, read until it ends; True if it went live (a `ready` arrived)."""
        with self._changed:
            resume_from = self._position
        headers = {"Accept": "text/event-stream", "Cache-Control": "no-cache", "Last-Event-ID": str(resume_from)}
        try:
            response = session.get(
                self.hub_url + STREAM_PATH,
                params=self._query,
                headers=headers,
                stream=True,
                timeout=(self.request_timeout, self.request_timeout),
            )
        except requests.RequestException as error:
            self._stream_failed(f"SSE: cannot connect to {self.hub_url}: {describe_error(error)}")
            return False
        went_live = False
        try:
            with self._changed:
                if self._stop.is_set():
                    return False
                self._response = response
            if response.status_code != 200:
                raise _Failed(f"SSE: {describe_response(response)}")
            content_type = response.headers.get("content-type", "")
            if not content_type.startswith("text/event-stream"):
                raise _Failed(f"SSE: the hub answered {content_type or 'no content type'}, not an event stream")
            watcher = RetryWatcher(body_chunks(response))
            history_read = self._caught_up  # if not, the replay after `ready` is history, not a delivery
            replay_up_to: int | None = None  # the hub's last id at `ready`, until a heartbeat passes it
            live_after = 0
            for event in sseclient.SSEClient(watcher).events():
                if watcher.retry_milliseconds is not None:
                    self._retry_seconds = watcher.retry_milliseconds / 1000
                if event.event == "ready":
                    replay_up_to = self._on_ready(response, event.data, resume_from)
                    live_after = 0 if history_read else replay_up_to
                    went_live = True
                elif event.event == "heartbeat":
                    self._on_heartbeat(replay_up_to)
                    replay_up_to = None
                elif event.event == "message":
                    self._on_message(event.data, live_after)
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
                self._response = None
            response.close()
        if not self._stop.is_set():
            self._stream_failed(reason)
        return went_live

    def _on_ready(self, response: requests.Response, data: str, resume_from: int) -> int:
        """Go live: note the period and `gap`, arm the liveness timeout; return the hub's last id."""
        ready = _json_object(data)
        heartbeat = ready.get("heartbeat_seconds")
        heartbeat_seconds = float(heartbeat) if isinstance(heartbeat, int | float) and heartbeat > 0 else None
        liveness = self.liveness_seconds or (2 * heartbeat_seconds if heartbeat_seconds else None)
        if liveness is not None:
            set_read_timeout(response, max(MIN_LIVENESS_SECONDS, liveness))
        last_id = ready.get("last_id")
        with self._changed:
            self._events += 1
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
                self._position = max(self._position, replay_up_to)
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

    def _poll(self, session: requests.Session) -> None:
        """Fetch every retained message after the position, page by page; state follows the outcome."""
        live = self._caught_up
        try:
            while not self._stop.is_set():
                with self._changed:
                    since = self._position
                headers = {"If-None-Match": self._etag[1]} if self._etag and self._etag[0] == since else {}
                response = session.get(
                    self.hub_url + MESSAGES_PATH,
                    params={"since_id": str(since), "limit": str(POLL_PAGE), **self._query},
                    headers=headers,
                    timeout=(self.request_timeout, self.request_timeout),
                )
                with response:
                    if response.status_code == 304:
                        break
                    if response.status_code != 200:
                        raise _Failed(f"polling: {describe_response(response)}")
                    page = response.json()["messages"]
                    etag = response.headers.get("etag")
                self._etag = (since, etag) if etag else None
                with self._changed:
                    for message in page:
                        self._add(message, live=live)
                    self._bump()
                if len(page) < POLL_PAGE:
                    break
        except _Failed as failed:
            self._poll_done(str(failed))
        except (requests.RequestException, ValueError, KeyError, TypeError) as error:
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
        """Keep a message once, in id order, at most `max_per_agent` per agent; move the position."""
        message_id = int(message["id"])
        agent_id = str(message.get("agent_id", ""))
        self._position = max(self._position, message_id)
        if self.agent_ids is not None and agent_id not in self.agent_ids:
            return
        kept = self._by_agent.setdefault(agent_id, [])
        too_old = len(kept) >= self.max_per_agent and message_id < int(kept[0]["id"])
        if message_id in self._kept_ids or too_old:
            self._duplicates += 1
            return
        ids = [int(existing["id"]) for existing in kept]
        kept.insert(bisect.bisect(ids, message_id), MappingProxyType(dict(message)))
        self._kept_ids.add(message_id)
        while len(kept) > self.max_per_agent:
            self._kept_ids.discard(int(kept.pop(0)["id"]))
        self._messages_received += 1
        if live:
            with contextlib.suppress(KeyError, ValueError, TypeError):
                created = parse_timestamp(str(message["created_at"]))
                self._latencies.append((datetime.now(UTC) - created).total_seconds())

    def _bump(self) -> None:
        self._version += 1
        self._changed.notify_all()

    def _build_snapshot(self) -> FeedSnapshot:
        merged = sorted(
            (message for kept in self._by_agent.values() for message in kept),
            key=lambda message: int(message["id"]),
            reverse=True,
        )
        diagnostics = FeedDiagnostics(
            hub_url=self.hub_url,
            heartbeat_seconds=self._heartbeat_seconds,
            events_received=self._events,
            messages_received=self._messages_received,
            duplicates_dropped=self._duplicates,
            heartbeats=self._heartbeats,
            reconnects=self._reconnects,
            polls=self._polls,
            last_heartbeat_at=self._last_heartbeat_at,
            last_event_id=self._position or None,
            last_error=self._last_error,
            gap=self._gap,
            latencies_seconds=tuple(self._latencies),
        )
        return FeedSnapshot(self._version, self._state, tuple(merged), diagnostics)


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
