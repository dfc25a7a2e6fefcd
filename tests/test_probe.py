"""`python -m agentchat check` and `run_checks`: against a good hub, a dead port, a slow heartbeat."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import pytest

from agentchat.probe import CHECK_NAMES, run_check, run_checks
from agentchat.settings import Settings
from tests.kit.hubs import InProcessHub
from tests.kit.paths import ROOT
from tests.kit.ports import free_port

ESCAPE = "\x1b"


def check(*args: str, **environment: str) -> subprocess.CompletedProcess[str]:
    """`python -m agentchat check ...` with no AGENTCHAT_ variable but `environment`; stdout is a pipe."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("AGENTCHAT_")}
    env.update({f"AGENTCHAT_{key.upper()}": value for key, value in environment.items()})
    return subprocess.run(
        [sys.executable, "-m", "agentchat", "check", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def verdicts(stdout: str) -> list[tuple[str, str]]:
    """(PASS|FAIL, check name) for each check line."""
    found = []
    for line in stdout.splitlines():
        verdict, _, rest = line.partition(" | ")
        if verdict in ("PASS", "FAIL"):
            found.append((verdict, rest.split(" (", 1)[0]))
    return found


def test_check_command_passes_against_a_good_hub_with_the_token_from_settings(
    start_hub: Callable[..., InProcessHub],
) -> None:
    hub = start_hub(heartbeat_seconds=0.5, generate_token="s3cret")
    result = check("--hub", hub.url, generate_token="s3cret")
    assert result.returncode == 0, result.stdout + result.stderr
    assert verdicts(result.stdout) == [("PASS", name) for name in CHECK_NAMES]
    assert result.stdout.splitlines()[-1] == f"all 7 checks passed against {hub.url}"


def test_run_checks_in_process_returns_one_passing_result_per_check_in_order(hub: InProcessHub) -> None:
    results = run_checks(hub.url, token=None, timeout=5)
    assert [result.name for result in results] == list(CHECK_NAMES)
    assert all(result.passed for result in results), [result.line() for result in results]
    delivery = results[CHECK_NAMES.index("delivery")]
    assert "6/6" in delivery.detail and "ms" in delivery.detail


def test_generation_fails_with_401_and_a_hint_without_the_hubs_token(start_hub: Callable[..., InProcessHub]) -> None:
    hub = start_hub(heartbeat_seconds=0.5, generate_token="s3cret")
    results = {result.name: result for result in run_checks(hub.url, token=None, timeout=5)}
    assert results["heartbeat received"].passed
    assert not results["generation"].passed
    assert "401" in results["generation"].detail and "AGENTCHAT_GENERATE_TOKEN" in results["generation"].detail
    assert results["delivery"].detail.startswith("not run:")


def test_check_against_a_dead_port_prints_fail_lines_and_exits_1_without_a_traceback() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = check("--hub", url, "--timeout", "2")
    assert result.returncode == 1
    assert verdicts(result.stdout) == [("FAIL", name) for name in CHECK_NAMES]
    assert f"cannot connect to {url}: connection refused" in result.stdout
    assert result.stdout.splitlines()[-1] == f"7 of 7 checks FAILED against {url}"
    assert "Traceback" not in result.stderr


def test_heartbeat_check_fails_quickly_against_a_hub_whose_heartbeat_is_slower_than_the_wait(
    start_hub: Callable[..., InProcessHub],
) -> None:
    hub = start_hub(heartbeat_seconds=600)
    started = time.monotonic()
    result = check("--hub", hub.url, "--timeout", "1")
    assert time.monotonic() - started < 300  # it gave up long before the hub's first heartbeat (600 s) could come
    assert result.returncode == 1
    failed = [name for verdict, name in verdicts(result.stdout) if verdict == "FAIL"]
    assert failed == ["heartbeat received"]
    assert "none within 4 s of connecting; the hub's period is 600 s, --timeout 152 or more" in result.stdout


def test_json_output_is_one_document_with_every_check(hub: InProcessHub) -> None:
    result = check("--hub", hub.url, "--json")
    document: dict[str, Any] = json.loads(result.stdout)
    assert result.returncode == 0
    assert document["passed"] is True and document["hub_url"] == hub.url
    assert [item["name"] for item in document["checks"]] == list(CHECK_NAMES)
    assert {key for item in document["checks"] for key in item} == {"name", "passed", "detail", "seconds"}


def test_json_output_against_a_dead_port_says_failed() -> None:
    result = check("--hub", f"http://127.0.0.1:{free_port()}", "--json")
    document = json.loads(result.stdout)
    assert result.returncode == 1 and document["passed"] is False
    assert all(not item["passed"] for item in document["checks"])


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("stream", "no_color", "coloured"),
    [(Terminal, None, True), (Terminal, "1", False), (io.StringIO, None, False)],
    ids=["terminal", "terminal-with-NO_COLOR", "pipe"],
)
def test_colour_only_on_a_terminal_without_no_color(
    monkeypatch: pytest.MonkeyPatch, stream: type[io.StringIO], no_color: str | None, coloured: bool
) -> None:
    if no_color is None:
        monkeypatch.delenv("NO_COLOR", raising=False)
    else:
        monkeypatch.setenv("NO_COLOR", no_color)
    out = stream()
    status = run_check(
        Settings(_env_file=None), hub_url=f"http://127.0.0.1:{free_port()}", timeout=1, as_json=False, out=out
    )
    assert status == 1
    assert (ESCAPE in out.getvalue()) is coloured
    assert "FAIL" in out.getvalue()
