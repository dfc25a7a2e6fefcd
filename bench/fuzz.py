"""The long fuzz run: schemathesis against a real hub with many examples and fresh seeds.

The suite (`tests/test_fuzz.py`) runs 25 examples per operation with one fixed seed, so it stays fast
and repeatable; this explores. Each run starts `python -m agentchat hub` on a fresh SQLite file (or a
given PostgreSQL database) with a generate token, fuzzes every operation with every check, and prints
the figures, then the failures schemathesis found (it exits 1 when there were any).

    python bench/fuzz.py [--examples 500] [--runs 1] [--seed N] [--database-url postgresql+psycopg://...]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.kit.fuzzing import run_schemathesis
from tests.kit.hubs import HubProcess

TOKEN = "bench-fuzz-token"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=500, help="examples per operation in the fuzzing phase")
    parser.add_argument("--runs", type=int, default=1, help="runs, each on a fresh hub and a fresh seed")
    parser.add_argument("--seed", type=int, default=None, help="the seed of the first run (random by default)")
    parser.add_argument("--database-url", default=None, help="a database to fuzz on instead of a fresh SQLite file")
    args = parser.parse_args()
    failed = 0
    for number in range(args.runs):
        seed = None if args.seed is None else args.seed + number
        with tempfile.TemporaryDirectory() as workdir:
            database_url = args.database_url or f"sqlite:///{workdir}/fuzz.db"
            hub = HubProcess(database_url, Path(workdir), generate_token=TOKEN, heartbeat_seconds=0.1).start()
            try:
                started = time.monotonic()
                run = run_schemathesis(hub.url, TOKEN, Path(workdir) / "schemathesis", args.examples, seed)
                seconds = time.monotonic() - started
            finally:
                hub.stop()
        verdict = "no failures" if run.passed else f"{len(run.report['failures'])} failures"
        print(
            f"run {number + 1}: {run.operations} operations, {run.cases} cases in {seconds:.1f} s "
            f"({run.cases / seconds:.0f}/s), seed {run.seed}: {verdict}"
        )
        if not run.passed:
            failed += 1
            print(run.output)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
