"""Where the checkout is: the root the hub and dashboard processes run in, and the files tests read from it."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
