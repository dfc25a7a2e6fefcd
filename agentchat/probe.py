"""The checks behind `python -m agentchat check` and the dashboard's Diagnostics page.

An operator's end-to-end test of a running hub, like `curl` with judgement: each check is one
`CheckResult`, `run_checks` returns them in a fixed order for a table, and `run_check` prints
them as `PASS | name (detail)` / `FAIL | name (reason)` lines (or one JSON document) and turns
them into an exit status.

Deliberate choices:

- It talks to the wire through `HubClient`, not through `RealtimeAgentMessages`: a probe that
  reconnected and deduplicated by itself would hide the faults it is there to find.
- The checks are one table, `CHECKS`: its order is the order they run and are printed in, by
  `agentchat check` and on the Diagnostics page, whose caption is `outline()`.
- One SSE stream is opened first and read by a thread into a queue, so the heartbeat wait runs
  from the moment of connection and deliveries are timed when they arrive, not when looked at.
- The heartbeat is the one step that waits on the hub's clock. It waits one declared period
  plus 5 s, but at most `HEARTBEAT_TIMEOUTS` × `--timeout`: the default (10 s) covers the default
  30 s period, and a small `--timeout` keeps a probe (or a test) of a slow-heartbeat hub short,
  failing with a line that says how long a wait the period needs.
- A check whose input is missing (no stream, nothing generated) fails with "not run: <why>"
  rather than disappearing, so the list always has the same lines.
- It generates one real round of messages on the hub it probes: delivery cannot be shown otherwise.
"""

from __future__ import annotations

import json
import math
import os
import queue
import statistics
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, TextIO

import httpx

from agentchat.contract import EVENT_STREAM, MESSAGES_PAGE_LIMIT
from agentchat.event_stream import EventStream
from agentchat.http_errors import describe_error, describe_response
from agentchat.hub_client import HubClient
from agentchat.settings import Settings

__all__ = ["CHECK_NAMES", "Check", "CheckResult", "outline", "run_check", "run_checks", "summary", "wants_color"]

HEARTBEAT_GRACE_SECONDS = 5.0
HEARTBEAT_TIMEOUTS = 4  # the heartbeat wait may take this many `timeout`s (see the module docstring)
_GREEN, _RED, _BOLD, _RESET = "\033[32m", "\033[31m", "\033[1m", "\033[0m"


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One check: passed or not, and the detail (or reason) an operator reads."""

    name: str
    passed: bool
    detail: str
    seconds: float = 0.0

    def line(self, color: bool = False) -> str:
        verdict = "PASS" if self.passed else "FAIL"
        if color:
            verdict = f"{_GREEN if self.passed else _RED}{verdict}{_RESET}"
        return f"{verdict} | {self.name} ({self.detail})"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class _Arrival:
    event: str
    data: str
    at: float  # time.monotonic()


class _Stream:
    """One SSE stream read by a thread into a queue of timed events; `close()` wakes and joins it."""

    def __init__(self, stream: EventStream) -> None:
        self.stream = stream
        self.arrivals: queue.Queue[_Arrival | None] = queue.Queue()  # None: the stream ended
        self.ended_because: str | None = None
        self._thread = threading.Thread(target=self._read, name="agentchat-probe-stream", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            for event in self.stream.events():
                self.arrivals.put(_Arrival(event.event, event.data, time.monotonic()))
            self.ended_because = "the hub ended the stream"
        except Exception as error:  # any failure to read is the stream's end, reported by the checks
            self.ended_because = describe_error(error)
        finally:
            self.arrivals.put(None)

    def next(self, deadline: float, kind: str | None = None) -> _Arrival | None:
        """The next event (of `kind`) before `deadline`, or None (timed out or ended)."""
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            try:
                arrival = self.arrivals.get(timeout=remaining)
            except queue.Empty:
                return None
            if arrival is None:
                self.arrivals.put(None)  # keep the end visible to later calls
                return None
            if kind is None or arrival.event == kind:
                return arrival

    def close(self) -> None:
        self.stream.shutdown()
        self._thread.join(2.0)
        self.stream.close()


class _Probe:
    """Runs the checks of `CHECKS` in order against one hub; each `_check_*` returns (passed, detail)."""

    def __init__(self, hub_url: str, token: str | None, timeout: float) -> None:
        self.hub_url = hub_url.rstrip("/")
        self.timeout = timeout
        self.hub = HubClient(self.hub_url, token, timeout)
        self.stream: _Stream | None = None
        self.unreachable: str | None = None
        self.connected_at = 0.0
        self.ready: dict[str, Any] | None = None
        self.generated: list[dict[str, Any]] = []
        self.posted_at = 0.0

    def run(self) -> list[CheckResult]:
        results = []
        try:
            for check in CHECKS:
                started = time.monotonic()
                if self.unreachable is not None:  # set by the first check: nothing after it can run
                    passed, detail = False, f"not run: {self.unreachable}"
                else:
                    try:
                        passed, detail = check.run(self)
                    except _NotRun as skipped:
                        passed, detail = False, f"not run: {skipped}"
                    except Exception as error:  # a probe reports; it never ends in a traceback
                        passed, detail = False, f"unexpected error: {describe_error(error)}"
                results.append(CheckResult(check.name, passed, detail, round(time.monotonic() - started, 3)))
        finally:
            if self.stream is not None:
                self.stream.close()
            self.hub.close()
        return results

    # -- the checks, in order ---------------------------------------------------------------

    def _check_connection(self) -> tuple[bool, str]:
        started = time.monotonic()
        try:
            stream = self.hub.open_stream()
        except httpx.HTTPError as error:
            self.unreachable = f"the hub at {self.hub_url} is unreachable"
            return False, f"cannot connect to {self.hub_url}: {describe_error(error)}"
        content_type = stream.content_type
        took = _ms(time.monotonic() - started)
        if stream.status_code != 200:
            reason = describe_response(stream.response)
            stream.close()
            return False, f"{reason}, expected 200 {EVENT_STREAM}"
        if not stream.is_event_stream:
            stream.close()
            return False, f"200 but content type {content_type or 'missing'}, expected {EVENT_STREAM}"
        self.connected_at = started
        stream.set_read_timeout((HEARTBEAT_TIMEOUTS + 1) * self.timeout)  # no check waits longer on a stream
        self.stream = _Stream(stream)
        return True, f"200, {content_type}, headers in {took}"

    def _check_ready(self) -> tuple[bool, str]:
        stream = self._require_stream()
        first = stream.next(time.monotonic() + self.timeout)
        if first is None:
            return False, f"no event within {self.timeout:g} s ({stream.ended_because or 'nothing arrived'})"
        if first.event != "ready":
            return False, f"first event is {first.event!r}, expected 'ready'"
        try:
            ready = json.loads(first.data)
        except ValueError:
            return False, f"ready data is not JSON: {first.data[:80]!r}"
        heartbeat = ready.get("heartbeat_seconds") if isinstance(ready, dict) else None
        if not isinstance(heartbeat, int | float) or heartbeat <= 0:
            return False, f"ready has no positive heartbeat_seconds: {first.data[:120]}"
        self.ready = ready
        retry = stream.stream.retry_milliseconds
        retry_text = f"retry {retry} ms" if retry is not None else "no retry: line"
        gap = ", gap" if ready.get("gap") else ""
        last_id = ready.get("last_id")
        store = f"last id {last_id}" if last_id is not None else "no messages retained"
        return True, f"heartbeat {heartbeat:g} s, {store}, {retry_text}{gap}"

    def _check_heartbeat(self) -> tuple[bool, str]:
        stream = self._require_stream()
        if self.ready is None:
            raise _NotRun("no ready event, so no heartbeat period")
        period = float(self.ready["heartbeat_seconds"])
        wait = min(period + HEARTBEAT_GRACE_SECONDS, HEARTBEAT_TIMEOUTS * self.timeout)
        heartbeat = stream.next(self.connected_at + wait, "heartbeat")
        if heartbeat is None:
            if stream.ended_because:
                return False, f"the stream ended before a heartbeat: {stream.ended_because}"
            needed = math.ceil((period + HEARTBEAT_GRACE_SECONDS) / HEARTBEAT_TIMEOUTS)
            hint = f", --timeout {needed} or more waits for it" if wait < period + HEARTBEAT_GRACE_SECONDS else ""
            return False, f"none within {wait:g} s of connecting; the hub's period is {period:g} s{hint}"
        return True, f"after {heartbeat.at - self.connected_at:.1f} s, period {period:g} s"

    def _check_generation(self) -> tuple[bool, str]:
        self.posted_at = time.monotonic()
        response = self.hub.generate()
        took = _ms(time.monotonic() - self.posted_at)
        if response.status_code != 201:
            return False, describe_response(response)
        messages = response.json().get("messages")
        if not isinstance(messages, list) or not messages:
            return False, "201 but no messages in the answer"
        self.generated = messages
        ids = [int(message["id"]) for message in messages]
        return True, f"201, {len(ids)} messages, ids {ids[0]}-{ids[-1]}, in {took}"

    def _check_delivery(self) -> tuple[bool, str]:
        stream = self._require_stream()
        wanted = self._require_generated()
        latencies: dict[int, float] = {}
        duplicates = 0
        deadline = time.monotonic() + self.timeout
        while len(latencies) < len(wanted):
            arrival = stream.next(deadline, "message")
            if arrival is None:
                break
            message_id = int(json.loads(arrival.data)["id"])
            if message_id in latencies:
                duplicates += 1
            elif message_id in wanted:
                latencies[message_id] = arrival.at - self.posted_at
        if duplicates:
            return False, f"{duplicates} message(s) arrived twice"
        if len(latencies) < len(wanted):
            missing = ", ".join(str(i) for i in sorted(wanted - set(latencies)))
            why = f"; {stream.ended_because}" if stream.ended_because else ""
            return False, f"{len(latencies)}/{len(wanted)} within {self.timeout:g} s, missing ids {missing}{why}"
        values = sorted(latencies.values())
        return True, (
            f"{len(values)}/{len(wanted)} over SSE, latency from POST median {_ms(statistics.median(values))},"
            f" max {_ms(values[-1])}"
        )

    def _check_polling(self) -> tuple[bool, str]:
        wanted = self._require_generated()
        since_id = min(wanted) - 1
        response = self.hub.messages(since_id=since_id, limit=MESSAGES_PAGE_LIMIT)
        if response.status_code != 200:
            return False, describe_response(response)
        ids = [int(message["id"]) for message in response.json()["messages"]]
        missing = wanted - set(ids)
        if missing:
            return False, f"{len(wanted) - len(missing)}/{len(wanted)} returned, missing ids {sorted(missing)}"
        if ids != sorted(set(ids)):
            return False, "messages not in id order, or repeated"
        etag = response.headers.get("etag")
        if not etag:
            return False, f"{len(wanted)} messages returned, but no ETag header"
        again = self.hub.messages(since_id=since_id, limit=MESSAGES_PAGE_LIMIT, etag=etag)
        if again.status_code != 304:
            return False, f"{len(wanted)} messages returned, but If-None-Match gave {again.status_code}, not 304"
        return True, f"{len(wanted)}/{len(wanted)} returned in id order, If-None-Match gives 304"

    def _check_resume(self) -> tuple[bool, str]:
        wanted = self._require_generated()
        if self.stream is not None:  # disconnect first: the resume is a reconnect
            self.stream.close()
            self.stream = None
        last_seen = min(wanted) - 1
        opened = self.hub.open_stream(last_event_id=last_seen)
        if opened.status_code != 200:
            reason = describe_response(opened.response)
            opened.close()
            return False, reason
        self.stream = stream = _Stream(opened)
        deadline = time.monotonic() + self.timeout
        ready = stream.next(deadline, "ready")
        if ready is None:
            return False, f"no ready event after reconnecting ({stream.ended_because or 'timed out'})"
        replayed: list[int] = []
        while not wanted <= set(replayed):
            arrival = stream.next(deadline, "message")
            if arrival is None:
                missing = sorted(wanted - set(replayed))
                return False, f"Last-Event-ID {last_seen}: {len(wanted) - len(missing)}/{len(wanted)} replayed"
            replayed.append(int(json.loads(arrival.data)["id"]))
        if replayed != sorted(set(replayed)):
            return False, f"Last-Event-ID {last_seen}: replay out of order or repeated: {replayed}"
        if json.loads(ready.data).get("gap"):
            return False, f"Last-Event-ID {last_seen}: ready says gap, though the messages are retained"
        return True, f"Last-Event-ID {last_seen}: {len(wanted)}/{len(wanted)} replayed once, in order"

    # -- helpers ------------------------------------------------------------------------------

    def _require_stream(self) -> _Stream:
        if self.stream is None:
            raise _NotRun("no SSE stream")
        return self.stream

    def _require_generated(self) -> set[int]:
        if not self.generated:
            raise _NotRun("generation failed, nothing to look for")
        return {int(message["id"]) for message in self.generated}


class _NotRun(Exception):
    """A check whose input an earlier check failed to provide."""


@dataclass(frozen=True, slots=True)
class Check:
    """One check of the probe: its name (on its line), what it shows, and the step that runs it."""

    name: str
    shows: str  # a phrase for `outline()`
    run: Callable[[_Probe], tuple[bool, str]]


# The one list of checks: the order they run in and are reported in, by the CLI and the Diagnostics page.
CHECKS: tuple[Check, ...] = (
    Check("SSE connection", "a stream", _Probe._check_connection),
    Check("ready event", "its ready event", _Probe._check_ready),
    Check("heartbeat received", "a heartbeat (waits up to one heartbeat period)", _Probe._check_heartbeat),
    Check("generation", "one real generated round", _Probe._check_generation),
    Check("delivery", "its delivery", _Probe._check_delivery),
    Check("fallback polling", "polling", _Probe._check_polling),
    Check("resume", "resume", _Probe._check_resume),
)
CHECK_NAMES = tuple(check.name for check in CHECKS)


def outline() -> str:
    """What the checks show, in order, as one phrase: "a stream, its ready event, ... and resume"."""
    phrases = [check.shows for check in CHECKS]
    return f"{', '.join(phrases[:-1])} and {phrases[-1]}"


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def run_checks(hub_url: str, token: str | None = None, timeout: float = 10.0) -> list[CheckResult]:
    """Probe the hub at `hub_url`; one `CheckResult` per check, in `CHECK_NAMES` order. Never raises."""
    return _Probe(hub_url, token, timeout).run()


def summary(results: list[CheckResult], hub_url: str) -> str:
    failed = sum(not result.passed for result in results)
    if failed:
        return f"{failed} of {len(results)} checks FAILED against {hub_url}"
    return f"all {len(results)} checks passed against {hub_url}"


def wants_color(stream: TextIO) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and not os.environ.get("NO_COLOR")


def run_check(
    settings: Settings, *, hub_url: str, timeout: float, as_json: bool = False, out: TextIO | None = None
) -> int:
    """`python -m agentchat check`: print the results (lines or JSON); exit status 0 only if all pass."""
    out = out or sys.stdout
    hub_url = hub_url.rstrip("/")
    started = time.monotonic()
    results = run_checks(hub_url, settings.token, timeout)
    passed = all(result.passed for result in results)
    line = summary(results, hub_url)
    if as_json:
        document = {
            "hub_url": hub_url,
            "passed": passed,
            "summary": line,
            "seconds": round(time.monotonic() - started, 3),
            "checks": [result.to_dict() for result in results],
        }
        out.write(json.dumps(document, indent=2) + "\n")
    else:
        color = wants_color(out)
        for result in results:
            out.write(result.line(color) + "\n")
        out.write((f"{_BOLD}{line}{_RESET}" if color else line) + "\n")
    out.flush()
    return 0 if passed else 1
