"""What the Streamlit AppTest tests share (tests/test_dashboard.py, tests/test_leaderboard.py,
tests/test_history_pages.py, tests/test_dashboard_access.py)."""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from tests.kit.waits import wait_until

__all__ = ["board", "board_texts", "isolated_dashboard", "markdown", "run_until"]


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
    return _element_data(at, lambda data: "ids" in data)


def standings_data(at: AppTest) -> dict[str, Any]:
    """The data of the live page's standings line (the same element's other mount); {} when none was drawn."""
    return _element_data(at, lambda data: "standings" in data)


def _element_data(at: AppTest, wanted: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    for element in at.get("bidi_component"):
        if element.proto.component_name == "agentchat_board":
            data: dict[str, Any] = json.loads(element.proto.json)[0]  # a one-item list (`board.mount`)
            if wanted(data):
                return data
    return {}


def board_texts(at: AppTest, agent_id: str | None = None) -> list[str]:
    """The message texts the live chat element was given, in its order (one agent's, with `agent_id`)."""
    messages = board(at).get("messages", [])
    return [str(m["content"]) for m in messages if agent_id is None or m.get("agent_id") == agent_id]


@contextlib.contextmanager
def isolated_dashboard(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, feeds_timeout: float) -> Iterator[None]:
    """No AGENTCHAT_ variable or `.env` of the developer's leaks into the block (it runs in `tmp_path`);
    after it, Streamlit's caches are cleared as when a session ends, and the feeds' threads must be gone."""
    for name in [name for name in os.environ if name.startswith("AGENTCHAT_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    yield
    st.cache_resource.clear()  # on_release closes the session's feed
    st.cache_data.clear()
    wait_until(
        lambda: not [t for t in threading.enumerate() if t.name.startswith("agentchat-feed")], timeout=feeds_timeout
    )
