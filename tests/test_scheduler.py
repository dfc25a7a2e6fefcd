"""`python scheduler.py`: one round per slot against a real hub, whatever retries, restarts or twins."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from agentchat.agents import BUILTIN_ROSTER
from agentchat.errors import ConfigError
from agentchat.scheduling import Slot, interval_ms
from tests.kit.hubs import InProcessHub
from tests.kit.paths import ROOT
from tests.kit.ports import free_port
from tests.kit.waits import wait_until

TOKEN = "scheduler-token"
ROUND = len(BUILTIN_ROSTER)
DAY_MINUTES = "1440"  # one slot a day: two processes started together share it
SLOT_LINE = re.compile(r"round slot=(\S+) agents=\S+ ids=(\S+) took=")
StartScheduler = Callable[..., "subprocess.Popen[str]"]


def scheduler_env(hub_url: str, **settings: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("AGENTCHAT_")}
    env.update(AGENTCHAT_HUB_URL=hub_url, PYTHONUNBUFFERED="1", PYTHONPATH=str(ROOT))
    env.update({f"AGENTCHAT_{key.upper()}": value for key, value in settings.items()})
    return env


@pytest.fixture
def start_scheduler(tmp_path: Path) -> Iterator[StartScheduler]:
    """`python scheduler.py ARGS` against `hub_url`, run in tmp_path (no stray `.env`); killed afterwards."""
    started: list[subprocess.Popen[str]] = []

    def start(hub_url: str, *args: str, **settings: str) -> subprocess.Popen[str]:
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "scheduler.py"), *args],
            cwd=tmp_path,
            env=scheduler_env(hub_url, **settings),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
        process.communicate()


def finish(process: subprocess.Popen[str], timeout: float = 60) -> tuple[int, str]:
    """Wait for the process; its exit status and stderr (where the log goes)."""
    _, stderr = process.communicate(timeout=timeout)
    return process.returncode, stderr


class StderrLines:
    """A process's stderr, read line by line in a thread as it is written, so a test can wait for a line."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            with self._changed:
                self.lines.append(line)
                self._changed.notify_all()

    def wait_for(self, text: str, timeout: float = 30) -> None:
        with self._changed:
            seen = self._changed.wait_for(lambda: any(text in line for line in self.lines), timeout)
        assert seen, f"no line with {text!r} within {timeout} s:\n{''.join(self.lines)}"

    def finish(self, timeout: float = 60) -> tuple[int, str]:
        """Wait for the process; its exit status and everything it wrote to stderr."""
        code = self.process.wait(timeout)
        self._reader.join(10)
        return code, "".join(self.lines)


def clear_slot_minutes() -> str:
    """A slot length of about a day whose slot under way has an hour or more left on either side.

    Processes started now share that slot however slowly they start: no boundary can pass between
    them, and no test waits for one to pass.
    """
    now_ms = time.time_ns() // 1_000_000
    for minutes in range(int(DAY_MINUTES), 2 * int(DAY_MINUTES)):
        length = minutes * 60_000
        if 3_600_000 <= now_ms % length <= length - 3_600_000:
            return str(minutes)
    raise AssertionError("no slot length of a day or two is clear of now")


def test_once_makes_one_round_and_exits_zero(
    start_hub: Callable[..., InProcessHub], start_scheduler: StartScheduler
) -> None:
    hub = start_hub(generate_token=TOKEN)
    code, log = finish(start_scheduler(hub.url, "--once", generate_token=TOKEN))
    assert code == 0, log
    stored = hub.messages()["messages"]
    assert [message["agent_id"] for message in stored] == [agent.id for agent in BUILTIN_ROSTER]
    [(slot, ids)] = SLOT_LINE.findall(log)
    assert slot.endswith("Z/PT900S")
    assert ids == ",".join(str(message["id"]) for message in stored)


def test_rerun_in_the_same_slot_replays_the_round_instead_of_making_another(
    start_hub: Callable[..., InProcessHub], start_scheduler: StartScheduler
) -> None:
    hub = start_hub()
    minutes = clear_slot_minutes()
    first = finish(start_scheduler(hub.url, "--once", "--interval-minutes", minutes))
    again = finish(start_scheduler(hub.url, "--once", "--interval-minutes", minutes))
    assert (first[0], again[0]) == (0, 0)
    assert "replayed=true" in again[1]
    assert len(hub.messages()["messages"]) == ROUND


def test_two_schedulers_started_together_in_one_slot_make_one_round(
    start_hub: Callable[..., InProcessHub], start_scheduler: StartScheduler
) -> None:
    hub = start_hub()
    minutes = clear_slot_minutes()
    twins = [start_scheduler(hub.url, "--once", "--interval-minutes", minutes) for _ in range(2)]
    results = [finish(twin) for twin in twins]
    assert [code for code, _ in results] == [0, 0], results
    assert len(hub.messages()["messages"]) == ROUND
    assert len({SLOT_LINE.search(log).group(2) for _, log in results}) == 1  # type: ignore[union-attr]


def test_round_happens_once_when_the_hub_comes_up_late(
    start_hub: Callable[..., InProcessHub], start_scheduler: StartScheduler
) -> None:
    port = free_port()
    scheduler = start_scheduler(
        f"http://127.0.0.1:{port}", "--once", "--interval-minutes", clear_slot_minutes(), "--retry-seconds", "45"
    )
    log_lines = StderrLines(scheduler)
    log_lines.wait_for("hub not ready")  # it has tried, and is retrying
    hub = start_hub(port=port)
    code, log = log_lines.finish()
    assert code == 0, log
    assert len(SLOT_LINE.findall(log)) == 1
    assert re.search(r" attempts=[2-9]", log)
    assert len(hub.messages()["messages"]) == ROUND


def test_once_gives_up_with_one_clear_line_when_the_hub_stays_down(start_scheduler: StartScheduler) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    code, log = finish(start_scheduler(url, "--once", "--retry-seconds", "1.5"), timeout=30)
    assert code == 1
    last = log.strip().splitlines()[-1]
    assert "missed: no working hub at " + url in last
    assert "Traceback" not in log


def test_wrong_token_fails_at_once_without_retrying(
    start_hub: Callable[..., InProcessHub], start_scheduler: StartScheduler
) -> None:
    hub = start_hub(generate_token=TOKEN)
    # Retrying would go on for ten minutes; finish() fails the test long before that.
    code, log = finish(start_scheduler(hub.url, "--once", "--retry-seconds", "600", generate_token="not-the-token"))
    assert code == 1
    assert "refused: hub answered 401 unauthorized" in log.strip().splitlines()[-1]
    assert "hub not ready" not in log
    assert hub.messages()["messages"] == []


def test_first_round_comes_at_start_and_sigint_stops_cleanly(
    start_hub: Callable[..., InProcessHub], start_scheduler: StartScheduler
) -> None:
    hub = start_hub()
    scheduler = start_scheduler(hub.url, "--interval-minutes", DAY_MINUTES)
    wait_until(lambda: len(hub.messages()["messages"]) == ROUND, timeout=60)
    scheduler.send_signal(signal.SIGINT)
    code, log = finish(scheduler, timeout=15)
    assert code == 0, log
    assert log.strip().splitlines()[-1].endswith("scheduler stopped")
    assert "Traceback" not in log


def test_interval_job_fires_once_per_slot_on_slot_boundaries(
    start_hub: Callable[..., InProcessHub], start_scheduler: StartScheduler
) -> None:
    hub = start_hub()
    scheduler = start_scheduler(hub.url, "--interval-minutes", "0.05", "--no-initial-round")  # 3 s slots
    wait_until(lambda: len(hub.messages()["messages"]) >= 2 * ROUND, timeout=60, interval=0.2)
    scheduler.send_signal(signal.SIGTERM)
    code, log = finish(scheduler, timeout=15)
    assert code == 0, log
    slots = [slot for slot, _ in SLOT_LINE.findall(log)]
    assert len(slots) >= 2 and len(set(slots)) == len(slots)
    assert all(re.search(r"T\d\d:\d\d:\d\d\.000Z/PT3S$", slot) for slot in slots)
    assert all(int(slot[17:19]) % 3 == 0 for slot in slots)  # on the grid, not "start time + n intervals"
    rounds = Counter(message["created_at"] for message in hub.messages()["messages"])
    assert set(rounds.values()) == {ROUND}


@pytest.mark.parametrize(
    ("now_ms", "index", "label"),
    [
        (900_000 * 5, 5, "1970-01-01T01:15:00.000Z/PT900S"),
        (900_000 * 5 - 1, 4, "1970-01-01T01:00:00.000Z/PT900S"),
        (900_000 * 5 + 899_999, 5, "1970-01-01T01:15:00.000Z/PT900S"),
    ],
)
def test_slot_is_exact_at_its_boundaries(now_ms: int, index: int, label: str) -> None:
    slot = Slot.containing(900_000, now_ms)
    assert (slot.index, slot.label, slot.idempotency_key) == (index, label, f"round-{label}")


@pytest.mark.parametrize(
    ("interval", "label"), [(1500, "1970-01-01T00:00:01.500Z/PT1.5S"), (10**9, "1970-01-12T13:46:40.000Z/PT1000000S")]
)
def test_slot_label_is_an_iso_interval_for_any_length(interval: int, label: str) -> None:
    assert Slot(1, interval).label == label


def test_interval_below_one_second_is_refused() -> None:
    assert interval_ms(0.05) == 3000
    with pytest.raises(ConfigError):
        interval_ms(0.01)
