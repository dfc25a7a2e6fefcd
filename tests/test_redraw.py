"""How a session's live area is redrawn (`wakeup.mode`) and which browser origins the hub's stream accepts.

The browser side (the element's EventSource, the fallback when it cannot open) is driven for real in
tests/test_browser.py; these are the rules it follows.
"""

from __future__ import annotations

import pytest

from agentchat.dashboard.wakeup import Wakeup, mode
from agentchat.settings import Settings

OPEN = Wakeup("open", None, 0)
DOWN = Wakeup("down: the hub refused the stream", None, 0)
SILENT = Wakeup(None, None, 0)  # the element has not reported yet


@pytest.mark.parametrize(
    ("redraw", "feed_live", "wakeup", "expected"),
    [
        ("change", True, OPEN, "change"),
        ("change", True, DOWN, "clock"),
        ("change", True, SILENT, "clock"),
        ("clock", True, OPEN, "clock"),
        ("change", False, OPEN, "poll"),
        ("clock", False, DOWN, "poll"),
    ],
)
def test_a_session_redraws_on_change_only_while_its_browser_holds_the_stream(
    redraw: str, feed_live: bool, wakeup: Wakeup, expected: str
) -> None:
    assert mode(redraw, feed_live, wakeup) == expected


def test_the_stream_accepts_the_dashboards_own_origins_by_default() -> None:
    settings = Settings(_env_file=None)
    assert settings.dashboard_origins == {"http://127.0.0.1:8501", "http://localhost:8501"}
    assert settings.stream_cors_origins == settings.dashboard_origins


def test_a_named_dashboard_host_and_stream_origins_are_accepted_too() -> None:
    settings = Settings(
        _env_file=None,
        dashboard_host="desk.example",
        dashboard_port=9000,
        stream_origins="https://desk.example",  # as read from the environment
        cors_origins="https://viewer.example",
    )
    assert settings.dashboard_origins == {
        "http://127.0.0.1:9000",
        "http://localhost:9000",
        "http://desk.example:9000",
        "https://desk.example",
    }
    assert "https://viewer.example" in settings.stream_cors_origins


def test_a_wildcard_bind_adds_no_origin_of_its_own() -> None:
    assert Settings(_env_file=None, dashboard_host="0.0.0.0").dashboard_origins == {
        "http://127.0.0.1:8501",
        "http://localhost:8501",
    }
