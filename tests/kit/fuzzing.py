"""schemathesis's command line against a running hub, driven by the hub's own `/openapi.json`.

Shared by the suite (`tests/test_fuzz.py`, few examples, a fixed seed) and `bench/fuzz.py` (many
examples, fresh seeds). Deliberate choices:

- The command line (`st run --checks all`), not schemathesis's pytest plugin: the plugin of 4.32.5
  reads `Node._nodeid`, which pytest 9.2 no longer has. The command line runs every phase that
  applies (coverage, then fuzzing) and every check, and writes a JSON report we read the counts from.
- The document is fetched from the hub and handed to schemathesis as a file, with the hub as base
  URL: loaded from a URL, schemathesis leaves out the operation that served it, `GET /openapi.json`.
- The stream never ends. schemathesis reads an event stream until `max-stream-events` events or
  `request-timeout` seconds, then checks what it read (status, headers, each event against
  `StreamEvent`); only "the body ends" goes unchecked, because it never does.
- Generated examples are not kept between runs (`database = "none"`): a run depends on its seed only.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.kit import web

MAX_STREAM_EVENTS = 3  # `ready`, then a message or a heartbeat: the hub under test beats every 0.1 s

CONFIG = """\
max-stream-events = {max_stream_events}
request-timeout = 5

[generation]
database = "none"

[auth.openapi.bearer]
bearer = "{token}"

# A schema-valid round may still be refused for state no schema can say: the same Idempotency-Key
# again with another body is a 422 (SPEC section 5). Every other check applies to it as to the rest.
[[operations]]
include-path = "/api/chat/generate"
checks.positive_data_acceptance.expected-statuses = ["2XX", "422"]
"""


@dataclass(frozen=True)
class FuzzRun:
    """One schemathesis run: its exit code, what it printed, and its JSON report."""

    exit_code: int
    output: str
    report: dict[str, Any]

    @property
    def operations(self) -> int:
        return int(self.report["operations"]["tested"])

    @property
    def cases(self) -> int:
        return int(self.report["test_cases"]["generated"])

    @property
    def seed(self) -> int:
        return int(self.report["seed"])

    @property
    def passed(self) -> bool:
        return self.exit_code == 0 and self.report["complete"] and not self.report["failures"]


def run_schemathesis(
    hub_url: str, token: str, workdir: Path, max_examples: int, seed: int | None = None, timeout: float = 3600
) -> FuzzRun:
    """Fuzz every operation of the hub at `hub_url` (whose generate token is `token`) with every check."""
    workdir.mkdir(parents=True, exist_ok=True)
    document = workdir / "openapi.json"
    document.write_text(json.dumps(web.get(f"{hub_url}/openapi.json", timeout=10).json()))
    config = workdir / "schemathesis.toml"
    config.write_text(CONFIG.format(max_stream_events=MAX_STREAM_EVENTS, token=token))
    report = workdir / "report.json"
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--no-color",
        "--config-file",
        str(config),
        "run",
        str(document),
        "--url",
        hub_url,
        "--checks",
        "all",
        "--workers",
        "1",
        "--max-examples",
        str(max_examples),
        "--report",
        "json",
        "--report-json-path",
        str(report),
    ]
    if seed is not None:
        command += ["--seed", str(seed)]
    done = subprocess.run(command, cwd=workdir, capture_output=True, text=True, timeout=timeout, check=False)
    output = done.stdout + done.stderr
    if not report.exists():
        raise AssertionError(f"schemathesis wrote no report (exit {done.returncode}):\n{output}")
    return FuzzRun(done.returncode, output, json.loads(report.read_text()))
