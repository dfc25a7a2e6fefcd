"""Run the whole suite several times beside CPU-bound processes and list every test that failed in any run.

A test that passes on a quiet machine and fails on a busy one waits on time instead of on an event;
this finds it before a change that has nothing to do with it does. `make flake-hunt` runs it:

    python tests/flake_hunt.py [--runs 3] [--hogs 2] [--workers 4] [--run-timeout 900] [-- pytest args]

The hogs are `python -c "while True: pass"` processes started here and always stopped here (also on
Ctrl-C or SIGTERM). Each run is bounded by `--run-timeout`; a run that exceeds it is stopped and
counted as a failure of its own. Exit status 1 if any test failed in any run (or a run did not finish).
"""

from __future__ import annotations

import argparse
import collections
import os
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

ROOT = Path(__file__).resolve().parent.parent
HOG = "while True: pass"


@contextmanager
def cpu_hogs(count: int) -> Iterator[list[subprocess.Popen[bytes]]]:
    """`count` busy-looping processes for as long as the block runs; each is stopped by its own pid after it."""
    hogs: list[subprocess.Popen[bytes]] = []
    try:
        for _ in range(count):
            hogs.append(subprocess.Popen([sys.executable, "-c", HOG]))
        yield hogs
    finally:
        for hog in hogs:
            hog.kill()
        for hog in hogs:
            hog.wait(10)


def failed_tests(report: Path) -> list[str]:
    """The node ids of the tests a JUnit XML report marks failed or errored."""
    if not report.exists():
        return []
    failed = []
    for case in ElementTree.parse(report).getroot().iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            module = case.get("classname", "").replace(".", "/")
            failed.append(f"{module}.py::{case.get('name', '')}")
    return failed


def run_suite(run: int, workers: int, timeout: float, extra: Sequence[str], reports: Path) -> tuple[list[str], str]:
    """One run of pytest; the tests that failed in it and a one-line summary."""
    report = reports / f"run-{run}.xml"
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={report}"]
    if workers > 0:
        dist = os.environ.get("TEST_DIST", "loadfile --no-loadscope-reorder").split()  # as `make test`
        command += ["-n", str(workers), "--dist", *dist]
    started = time.monotonic()
    process = subprocess.Popen([*command, *extra], cwd=ROOT, start_new_session=True)
    try:
        code = process.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # its own session: pytest, its workers and their children
        process.wait(30)
        return [*failed_tests(report), f"(run {run} did not finish within {timeout:.0f} s)"], "timed out"
    except BaseException:  # Ctrl-C or SIGTERM: the run's session does not get the terminal's signal; end it
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(30)
        raise
    failed = failed_tests(report)
    if code not in (0, 1) and not failed:  # 1: tests failed; anything else: pytest itself could not run
        failed = [f"(run {run}: pytest exited with {code})"]
    return failed, f"exit {code}, {len(failed)} failed, {time.monotonic() - started:.0f} s"


def stop_on_sigterm() -> None:
    """SIGTERM ends the hunt as Ctrl-C does, so the hogs are stopped on the way out."""

    def raise_interrupt(_signal: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, raise_interrupt)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="how many times to run the suite (default 3)")
    parser.add_argument("--hogs", type=int, default=2, help="CPU-bound processes beside it (default 2)")
    parser.add_argument("--workers", type=int, default=int(os.environ.get("TEST_WORKERS", "4")))
    parser.add_argument("--run-timeout", type=float, default=900, help="seconds one run may take (default 900)")
    parser.add_argument("pytest_args", nargs="*", help="after --: passed to pytest (e.g. a test file)")
    args = parser.parse_args(argv)
    stop_on_sigterm()
    failures: collections.Counter[str] = collections.Counter()
    with tempfile.TemporaryDirectory(prefix="flake-hunt-") as reports, cpu_hogs(args.hogs):
        for run in range(1, args.runs + 1):
            print(f"flake hunt: run {run} of {args.runs} beside {args.hogs} CPU hogs", flush=True)
            failed, summary = run_suite(run, args.workers, args.run_timeout, args.pytest_args, Path(reports))
            failures.update(set(failed))
            print(f"flake hunt: run {run}: {summary}", flush=True)
    print()
    if not failures:
        print(f"flake hunt: no test failed in {args.runs} runs beside {args.hogs} CPU hogs")
        return 0
    print(f"flake hunt: {len(failures)} tests failed in some of {args.runs} runs:")
    for test, count in sorted(failures.items(), key=lambda item: (-item[1], item[0])):
        print(f"  {count} of {args.runs}  {test}")
    return 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\nflake hunt: stopped (the hogs and the run under way too)", file=sys.stderr)
        sys.exit(130)
