"""The hub process's garbage-collector settings: fewer, cheaper cycle collections.

Profiling a fresh connect end to end (uvicorn's protocol, the scope, our parse, `ready`) showed
about half of its CPU in CPython's cycle collector, not in any code of ours or uvicorn's: every
700 allocations a young collection runs, and with thousands of open streams each older collection
walks every object they hold. Connections are freed by reference counting; cycles are rare here.
So the hub process, once everything is imported and built:

- `gc.freeze()`s what exists (modules, the app, SQLAlchemy's and pydantic's tables): it is never
  garbage, and no collection walks it again;
- collects the young generation every `YOUNG_ALLOCATIONS` allocations instead of 700, and the
  older ones correspondingly less often.

With it a connect costs ~65 µs of hub CPU instead of ~130 µs (`bench/storm.py`). Only the hub
process applies it (`cli.run_hub`); a hub inside another program (the tests) leaves that
program's collector alone.
"""

from __future__ import annotations

import gc

__all__ = ["OLDER_COLLECTIONS", "YOUNG_ALLOCATIONS", "apply"]

YOUNG_ALLOCATIONS = 100_000
OLDER_COLLECTIONS = (50, 1000)  # young collections per middle one, middle ones per full one


def apply() -> None:
    """Freeze what exists and space collections out (see the module docstring)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_ALLOCATIONS, *OLDER_COLLECTIONS)
