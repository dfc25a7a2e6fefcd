"""What the Streamlit AppTest tests share (tests/test_dashboard.py, tests/test_leaderboard.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from streamlit.testing.v1 import AppTest

from tests.support import wait_until

__all__ = ["board", "board_texts", "markdown", "run_until"]


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


def board(at: AppTest) -> dict[str, Any]:
    """The data of the live chat element (`agentchat.dashboard.board`) in the last run; {} when none was drawn."""
    for element in at.get("bidi_component"):
        if element.proto.component_name == "agentchat_board":
            data: dict[str, Any] = json.loads(element.proto.json)
            return data
    return {}


def board_texts(at: AppTest, agent_id: str | None = None) -> list[str]:
    """The message texts the live chat element was given, in its order (one agent's, with `agent_id`)."""
    messages = board(at).get("messages", [])
    return [str(m["content"]) for m in messages if agent_id is None or m.get("agent_id") == agent_id]
