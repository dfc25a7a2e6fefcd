"""What the Streamlit AppTest tests share (tests/test_dashboard.py, tests/test_leaderboard.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from streamlit.testing.v1 import AppTest

from tests.support import wait_until

__all__ = ["markdown", "run_until"]


def markdown(at: AppTest) -> str:
    """Every Markdown element of the last run, one per line."""
    return "\n".join(element.value for element in at.markdown)


def run_until(at: AppTest, condition: Callable[[AppTest], Any], timeout: float = 10.0) -> AppTest:
    """Rerun the script (a fragment tick) until `condition` holds; an exception in a run fails at once."""

    def rerun_and_check() -> Any:
        at.run()
        assert not at.exception, [exception.value for exception in at.exception]
        return condition(at)

    wait_until(rerun_and_check, timeout=timeout, interval=0.1)
    return at
