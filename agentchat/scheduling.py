"""The scheduler: asks the hub for a round of messages once per schedule slot, like a cron job.

Time is cut into slots of `AGENTCHAT_SCHEDULE_MINUTES`, aligned to the Unix epoch (with 15 minutes:
:00, :15, :30, :45 UTC). Each round is `POST /api/chat/generate` with an `Idempotency-Key` naming its
slot as an ISO 8601 interval, `round-2026-11-26T10:15:00.000Z/PT900S`, so everything that might ask
twice for one slot (a retry after a timeout, a restart, a second scheduler) gets the first answer
back instead of a second round. For the same reason the interval job fires on slot boundaries rather
than "start time plus n intervals": two schedulers started a minute apart still agree on the slots.
The first round, at start, belongs to the slot already under way.

The hub remembers a key for a day (or for its retention, if longer), so that holds for any slot
shorter than a day, even when the slot is longer than the messages are retained.

A round that cannot reach the hub (connection refused, timeout, 5xx) is retried with exponential
backoff until its slot is nearly over, then logged as missed; the next slot is tried afresh.
A 4xx answer (a wrong token) is not retried: asking again cannot fix it.

Signal handlers only set a flag, which the main thread polls: setting a `threading.Event` from a
handler can deadlock when the signal lands while the main thread holds that event's lock.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import FrameType
from typing import Any

import httpx
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from tenacity import (
    RetryCallState,
    RetryError,
    Retrying,
    retry_if_exception_type,
    stop_any,
    stop_before_delay,
    stop_when_event_set,
    wait_exponential_jitter,
)

from agentchat.contract import IDEMPOTENT_REPLAYED
from agentchat.errors import AgentchatError, ConfigError, HubUnreachable
from agentchat.http_errors import answer_phrase, describe_error, refusal
from agentchat.hub_client import HubClient, generate_timeout
from agentchat.message import format_timestamp
from agentchat.settings import Settings, load_settings

__all__ = [
    "RoundJob",
    "RoundRequester",
    "RoundResult",
    "Slot",
    "StopSignals",
    "build_parser",
    "interval_ms",
    "main",
    "run_forever",
    "run_once",
]

logger = logging.getLogger("agentchat.scheduler")

LOG_FORMAT = "%(asctime)s %(levelname)-5s %(name)s: %(message)s"
MIN_INTERVAL_MS = 1000
SLOT_END_MARGIN_SECONDS = 0.5  # stop retrying this long before the slot ends: the next round is due
POLL_SECONDS = 0.2  # how often the main thread looks at the signal flag


@dataclass(frozen=True, slots=True)
class Slot:
    """One period of the schedule: `[index * interval, (index + 1) * interval)` ms since the epoch.

    Milliseconds are integers, so the slot of a fire time on a boundary is exact, not a float's guess.
    """

    index: int
    interval_ms: int

    @classmethod
    def containing(cls, interval_ms: int, now_ms: int | None = None) -> Slot:
        moment = time.time_ns() // 1_000_000 if now_ms is None else now_ms
        return cls(moment // interval_ms, interval_ms)

    @property
    def start(self) -> datetime:
        return datetime.fromtimestamp(self.index * self.interval_ms / 1000, UTC)

    @property
    def end_ms(self) -> int:
        return (self.index + 1) * self.interval_ms

    @property
    def label(self) -> str:
        """The slot as an ISO 8601 interval, start/duration: `2026-11-26T10:15:00.000Z/PT900S`."""
        seconds = self.interval_ms // 1000 if self.interval_ms % 1000 == 0 else self.interval_ms / 1000
        return f"{format_timestamp(self.start)}/PT{seconds}S"

    @property
    def idempotency_key(self) -> str:
        return f"round-{self.label}"

    def seconds_left(self) -> float:
        return self.end_ms / 1000 - time.time()


@dataclass(frozen=True, slots=True)
class RoundResult:
    """A round the hub answered for: made now, or `replayed` because this slot's round already existed."""

    slot: Slot
    messages: list[dict[str, Any]]
    replayed: bool
    seconds: float
    attempts: int

    def log_line(self) -> str:
        agents = ",".join(str(message.get("agent_id")) for message in self.messages) or "-"
        ids = ",".join(str(message.get("id")) for message in self.messages) or "-"
        note = " replayed=true (this slot's round was already made)" if self.replayed else ""
        retried = f" attempts={self.attempts}" if self.attempts > 1 else ""
        return f"round slot={self.slot.label} agents={agents} ids={ids} took={self.seconds:.2f}s{retried}{note}"


class _Retryable(Exception):
    """The hub could not be reached, or answered with a status that may pass (5xx, 429)."""


class _Stopped(Exception):
    """A stop was requested while the round was waiting to retry."""


class RoundRequester:
    """Makes the round of one slot: one POST, retried within the slot while the hub is unreachable."""

    def __init__(
        self,
        settings: Settings,
        stopping: threading.Event,
        retry_seconds: float | None = None,
    ) -> None:
        self.hub_url = settings.hub_url
        self._stopping = stopping
        self._retry_seconds = retry_seconds
        self._hub = HubClient(settings.hub_url, settings.token, generate_timeout(settings.llm_timeout_seconds))

    def close(self) -> None:
        self._hub.close()

    def make_round(self, slot: Slot) -> RoundResult:
        """POST the slot's round; raise `HubUnreachable` once the slot's retries are spent, `RequestRefused` on 4xx."""
        started = time.monotonic()
        budget = max(0.0, slot.seconds_left() - SLOT_END_MARGIN_SECONDS)
        if self._retry_seconds is not None:
            budget = min(budget, self._retry_seconds)
        retrying = Retrying(
            retry=retry_if_exception_type(_Retryable),
            wait=wait_exponential_jitter(initial=0.5, max=30.0, jitter=0.5),
            stop=stop_any(stop_before_delay(budget), stop_when_event_set(self._stopping)),
            sleep=self._sleep,
            before_sleep=self._log_retry,
        )
        try:
            messages, replayed = retrying(self._post, slot)
        except RetryError as error:
            attempt = error.last_attempt
            cause = attempt.exception()
            raise HubUnreachable(
                f"round slot={slot.label} missed: no working hub at {self.hub_url} after {attempt.attempt_number} "
                f"attempts in {time.monotonic() - started:.1f} s (last: {cause})"
            ) from None
        attempts = int(retrying.statistics.get("attempt_number", 1))
        return RoundResult(slot, messages, replayed, time.monotonic() - started, attempts)

    def _post(self, slot: Slot) -> tuple[list[dict[str, Any]], bool]:
        try:
            response = self._hub.generate(idempotency_key=slot.idempotency_key)
        except httpx.TransportError as exc:
            raise _Retryable(describe_error(exc)) from None
        answered = f"hub answered {response.status_code} {answer_phrase(response)}"
        if response.status_code >= 500 or response.status_code == 429:
            raise _Retryable(answered)
        if response.status_code != 201:
            raise refusal(response, f"round slot={slot.label} refused: {answered}")
        try:
            messages = list(response.json()["messages"])
        except (ValueError, KeyError, TypeError):
            raise _Retryable("hub answered 201 without a JSON list of messages") from None
        return messages, response.headers.get(IDEMPOTENT_REPLAYED) == "true"

    def _sleep(self, seconds: float) -> None:
        if self._stopping.wait(seconds):
            raise _Stopped

    def _log_retry(self, state: RetryCallState) -> None:
        outcome = state.outcome
        reason = outcome.exception() if outcome is not None else None
        wait = state.next_action.sleep if state.next_action is not None else 0.0
        logger.warning("hub not ready (%s); attempt %d, next in %.1f s", reason, state.attempt_number, wait)


class RoundJob:
    """What the scheduler runs each slot: a round, logged in one line, and never an exception."""

    def __init__(self, requester: RoundRequester, interval_ms: int) -> None:
        self.requester = requester
        self.interval_ms = interval_ms

    def __call__(self) -> bool:
        slot = Slot.containing(self.interval_ms)
        try:
            result = self.requester.make_round(slot)
        except AgentchatError as error:
            logger.error("%s", error.detail)
            return False
        except _Stopped:
            logger.warning("round slot=%s abandoned: stopping", slot.label)
            return False
        except Exception:  # a bug must not end the schedule; the next slot tries again
            logger.exception("round slot=%s failed unexpectedly", slot.label)
            return False
        logger.info("%s", result.log_line())
        return True


class StopSignals:
    """SIGTERM and SIGINT set a flag the main thread polls; the previous handlers come back on exit."""

    def __init__(self) -> None:
        self.received: int | None = None

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        self.received = signum

    @contextlib.contextmanager
    def installed(self) -> Iterator[StopSignals]:
        previous = {sig: signal.signal(sig, self._handle) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            yield self
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def interval_ms(minutes: float) -> int:
    """The slot length in whole milliseconds; `ConfigError` below one second (a typo, not a schedule)."""
    length = round(minutes * 60_000)
    if length < MIN_INTERVAL_MS:
        raise ConfigError(f"the interval must be at least 1 second (got {minutes} minutes)")
    return length


def run_once(job: RoundJob, signals: StopSignals, stopping: threading.Event) -> int:
    """One round in a worker thread, so the main thread stays free to notice a signal."""
    outcome: list[bool] = []
    worker = threading.Thread(target=lambda: outcome.append(job()), name="round")
    worker.start()
    while worker.is_alive():
        worker.join(POLL_SECONDS)
        if signals.received is not None:
            stopping.set()
    return 0 if outcome and outcome[0] else 1


def run_forever(job: RoundJob, signals: StopSignals, stopping: threading.Event, initial_round: bool) -> int:
    """Rounds on slot boundaries until SIGTERM/SIGINT; a round in flight is let finish (retries are not)."""
    seconds = job.interval_ms / 1000
    next_boundary = datetime.fromtimestamp(Slot.containing(job.interval_ms).end_ms / 1000, UTC)
    scheduler = BackgroundScheduler(
        executors={"default": ThreadPoolExecutor(1)},  # one round at a time, across both jobs
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": max(1, int(seconds / 2))},
        timezone=UTC,
    )
    if initial_round:
        scheduler.add_job(job, DateTrigger(timezone=UTC), id="first-round", name="first round")
    scheduler.add_job(
        job, IntervalTrigger(seconds=seconds, start_date=next_boundary, timezone=UTC), id="round", name="round"
    )
    scheduler.start()
    logger.info(
        "scheduler started: a round every %s against %s; %s",
        _duration(seconds),
        job.requester.hub_url,
        "first round now" if initial_round else f"first round at {format_timestamp(next_boundary)}",
    )
    while signals.received is None:
        time.sleep(POLL_SECONDS)
    stopping.set()
    logger.info("scheduler stopping (%s)", signal.Signals(signals.received).name)
    scheduler.shutdown(wait=True)
    logger.info("scheduler stopped")
    return 0


def _duration(seconds: float) -> str:
    return f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s"


def build_parser(prog: str = "python scheduler.py") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog, description="Ask the agentchat hub for a round of messages every schedule slot."
    )
    parser.add_argument("--once", action="store_true", help="make this slot's round and exit (0 on success)")
    parser.add_argument(
        "--interval-minutes",
        type=float,
        metavar="N",
        help="slot length in minutes, fractions allowed (default AGENTCHAT_SCHEDULE_MINUTES or 15)",
    )
    parser.add_argument(
        "--no-initial-round", action="store_true", help="wait for the next slot instead of starting now"
    )
    parser.add_argument(
        "--retry-seconds",
        type=float,
        metavar="S",
        help="give up on an unreachable hub after S seconds (default: when the slot ends)",
    )
    return parser


def main(argv: Sequence[str] | None = None, prog: str = "python scheduler.py") -> int:
    """`python scheduler.py ...` and `agentchat scheduler ...` (`prog` names which in help and errors)."""
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    for noisy in ("apscheduler", "httpx"):  # one line per round is ours to write
        logging.getLogger(noisy).setLevel(logging.WARNING)
    args = build_parser(prog).parse_args(argv)
    try:
        settings = load_settings()
        slot_ms = interval_ms(args.interval_minutes if args.interval_minutes is not None else settings.schedule_minutes)
    except AgentchatError as error:
        print(f"scheduler: {error.detail}", file=sys.stderr)
        return 2
    stopping = threading.Event()
    requester = RoundRequester(settings, stopping, retry_seconds=args.retry_seconds)
    job = RoundJob(requester, slot_ms)
    try:
        with StopSignals().installed() as signals:
            if args.once:
                return run_once(job, signals, stopping)
            return run_forever(job, signals, stopping, initial_round=not args.no_initial_round)
    finally:
        requester.close()
