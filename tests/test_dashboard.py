"""The dashboard (`app.py` and the Diagnostics page) in Streamlit's AppTest, against real hub processes.

AppTest does not fire `run_every` timers, so a test stands in for the live fragment's tick by
running the script again (`run_until`). The app reads its settings from the environment, like
`streamlit run app.py` does; every test releases the session's feed afterwards, as Streamlit does
when a browser tab disconnects.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import Any

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from agentchat.agents import BUILTIN_ROSTER
from agentchat.dashboard.formatting import EMPTY_TEXT, escape_markdown
from agentchat.message import Draft
from agentchat.probe import CHECK_NAMES
from agentchat.store import Store, create_store_engine
from tests.kit import web
from tests.kit.apptest import board, board_texts, markdown, run_until
from tests.kit.dashboard_app import DIAGNOSTICS, open_dashboard
from tests.kit.hubs import InProcessHub
from tests.kit.ports import free_port
from tests.kit.waits import wait_until

TOKEN = "dashboard-test-token"
PAYLOAD = "<img src=x onerror=alert(1)> [x](javascript:alert(1)) **bold** $x$ :red[red] http://example.com"


pytestmark = pytest.mark.usefixtures("dashboard_env")  # tests/conftest.py: the dashboard's clean environment


def feed_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name.startswith("agentchat-feed")]


@pytest.fixture
def hub(start_hub: Callable[..., InProcessHub]) -> InProcessHub:
    """A hub with the default heartbeat period, not the suite's 0.5 s: the session's feed counts two periods
    without a byte as a dead stream, and here the hub runs in the same busy process as the script runs it
    serves, so a 1 s window could lapse under load without any fault. No test here is about heartbeats."""
    return start_hub()


def texts(at: AppTest) -> list[str]:
    """The message texts on the page: the live chat element's (the element-per-card drawing's `st.text`s too)."""
    return board_texts(at) + [element.value for element in at.text]


def button(at: AppTest, label: str) -> Any:
    return next(candidate for candidate in at.button if candidate.label == label)


def test_dashboard_has_one_column_per_agent_headed_with_its_name_strategy_and_color(
    monkeypatch: pytest.MonkeyPatch, hub: InProcessHub
) -> None:
    at = open_dashboard(monkeypatch, hub.url)
    assert not at.exception
    assert board(at)["layout"] == "columns"  # the live chat element draws one column per agent
    for agent, column in zip(BUILTIN_ROSTER, board(at)["agents"], strict=True):
        assert column["name"] == agent.name
        assert column["color"] == agent.color
        assert column["strategy"] == agent.strategy


def test_empty_dashboard_says_it_is_waiting_and_hints_at_generate(
    monkeypatch: pytest.MonkeyPatch, hub: InProcessHub
) -> None:
    at = open_dashboard(monkeypatch, hub.url)
    hint = at.info[0].value
    assert EMPTY_TEXT in hint
    assert "Generate messages" in hint


def test_generate_button_posts_a_round_with_the_token_and_its_messages_appear(
    monkeypatch: pytest.MonkeyPatch, start_hub: Callable[..., InProcessHub]
) -> None:
    hub = start_hub(heartbeat_seconds=0.5, generate_token=TOKEN)
    at = open_dashboard(monkeypatch, hub.url, generate_token=TOKEN)
    button(at, "Generate messages").click().run()
    assert [toast.value for toast in at.toast] == [f"Generated {len(BUILTIN_ROSTER)} messages"]
    made = hub.messages(since_id=0)["messages"]
    assert len(made) == len(BUILTIN_ROSTER)
    assert {message["content"] for message in made} <= set(texts(at))


def test_generate_without_the_hubs_token_says_why_it_failed(
    monkeypatch: pytest.MonkeyPatch, start_hub: Callable[..., InProcessHub]
) -> None:
    hub = start_hub(heartbeat_seconds=0.5, generate_token=TOKEN)
    at = open_dashboard(monkeypatch, hub.url)
    button(at, "Generate messages").click().run()
    error = at.sidebar.error[0].value
    assert "401" in error
    assert "AGENTCHAT_GENERATE_TOKEN" in error
    assert hub.messages(since_id=0)["messages"] == []


def test_messages_generated_elsewhere_appear_at_the_next_refresh_newest_first(
    monkeypatch: pytest.MonkeyPatch, hub: InProcessHub
) -> None:
    at = open_dashboard(monkeypatch, hub.url)
    first = hub.generate(["claude_arbitrage"]).json()["messages"][0]
    second = hub.generate(["claude_arbitrage"]).json()["messages"][0]
    run_until(at, lambda at: second["content"] in texts(at))
    assert board_texts(at, "claude_arbitrage") == [second["content"], first["content"]]


def test_the_live_chat_element_is_given_each_message_with_its_details(
    monkeypatch: pytest.MonkeyPatch, hub: InProcessHub
) -> None:
    at = open_dashboard(monkeypatch, hub.url)
    made = hub.generate(["claude_arbitrage"]).json()["messages"][0]
    assert "details" not in made  # the round's answer keeps its budget; the stored message has them
    stored = web.get(f"{hub.url}/api/chat/messages/{made['id']}", timeout=10).json()
    run_until(at, lambda at: made["content"] in texts(at))
    given = next(message for message in board(at)["messages"] if message["id"] == made["id"])
    assert given["details"] == stored["details"] and given["details"]["decision"]


@pytest.mark.parametrize("layout", ["Columns", "Timeline", "Tabs"])
def test_each_layout_shows_every_message_of_the_picked_agents(
    monkeypatch: pytest.MonkeyPatch, hub: InProcessHub, layout: str
) -> None:
    made = hub.generate().json()["messages"]
    at = open_dashboard(monkeypatch, hub.url)
    at.radio(key="layout").set_value(layout).run()
    assert not at.exception
    assert sorted(texts(at)) == sorted(message["content"] for message in made)
    assert board(at)["layout"] == layout.lower()
    if layout == "Tabs":
        assert [tab["name"] for tab in board(at)["agents"]] == [agent.name for agent in BUILTIN_ROSTER]


def test_the_figures_at_a_glance_count_the_picked_agents_messages_and_trades(
    monkeypatch: pytest.MonkeyPatch, hub: InProcessHub
) -> None:
    made = hub.generate(["claude_arbitrage", "grok_sentiment"]).json()["messages"]
    at = open_dashboard(monkeypatch, hub.url)
    at.multiselect(key="agents").unselect("grok_sentiment").run()
    figures = {figure["label"]: figure for figure in board(at)["figures"]}
    assert list(figures) == ["Messages", "Active agents", "Trades", "Last message"]
    assert figures["Messages"]["value"] == "1"
    assert figures["Active agents"]["value"] == "1 / 5"
    assert figures["Trades"]["value"] == str(int(made[0]["kind"] == "trade"))
    assert figures["Last message"]["since"] == made[0]["created_at"]  # an age: the browser's clock moves it
    assert "Grok Sentiment" not in figures["Active agents"]["help"]


def test_the_element_per_card_drawing_shows_the_figures_as_metrics(
    monkeypatch: pytest.MonkeyPatch, hub: InProcessHub
) -> None:
    hub.generate()
    at = open_dashboard(monkeypatch, hub.url, dashboard_cards="elements")
    metrics = {metric.label: metric.value for metric in at.metric}
    assert metrics["Messages"] == "6" and metrics["Active agents"] == "6 / 6"
    assert set(metrics) == {"Messages", "Active agents", "Trades", "Last message"}


def test_unpicking_an_agent_hides_its_messages(monkeypatch: pytest.MonkeyPatch, hub: InProcessHub) -> None:
    made = hub.generate(["claude_arbitrage", "grok_sentiment"]).json()["messages"]
    at = open_dashboard(monkeypatch, hub.url)
    at.multiselect(key="agents").unselect("grok_sentiment").run()
    assert texts(at) == [made[0]["content"]]


def test_status_pill_says_real_time_while_sse_is_up(monkeypatch: pytest.MonkeyPatch, hub: InProcessHub) -> None:
    at = open_dashboard(monkeypatch, hub.url)
    assert "🟢 Real-time (SSE)" in markdown(at)


def test_status_pill_says_polling_when_sse_is_switched_off(monkeypatch: pytest.MonkeyPatch, hub: InProcessHub) -> None:
    made = hub.generate().json()["messages"]
    at = open_dashboard(monkeypatch, hub.url)
    at.toggle(key="sse").set_value(False).run()
    run_until(at, lambda at: "🟡 Polling (fallback)" in markdown(at))
    assert "SSE is switched off" in markdown(at)
    assert sorted(texts(at)) == sorted(message["content"] for message in made)


def test_hub_down_the_page_loads_and_says_where_the_hub_should_be_and_how_to_start_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dead_url = f"http://127.0.0.1:{free_port()}"
    at = open_dashboard(monkeypatch, dead_url)
    assert not at.exception
    assert "🔴 Error" in markdown(at)
    error = at.main.error[0].value
    assert f"`{dead_url}` is unreachable" in error
    assert "python -m agentchat hub" in error
    assert "make run" in error
    assert len(board(at)["agents"]) == len(BUILTIN_ROSTER)  # this process's own roster stands in


def test_dashboard_recovers_by_itself_when_the_hub_comes_up(
    monkeypatch: pytest.MonkeyPatch, start_hub: Callable[..., InProcessHub]
) -> None:
    port = free_port()
    at = open_dashboard(monkeypatch, f"http://127.0.0.1:{port}")
    assert "🔴 Error" in markdown(at)
    start_hub(port=port, heartbeat_seconds=0.5)
    run_until(at, lambda at: "🟢 Real-time (SSE)" in markdown(at), timeout=15)
    assert not at.main.error


def test_message_text_is_shown_as_text_never_as_markup(
    monkeypatch: pytest.MonkeyPatch, hub: InProcessHub, sqlite_url: str
) -> None:
    store = Store(create_store_engine(sqlite_url), retention_seconds=600)
    meta = {"symbol": PAYLOAD, "side": "buy", "price": 1.5, "confidence": 0.5, "reply_to": None}
    store.insert_round([Draft("claude_arbitrage", "Claude Arbitrage", "alert", PAYLOAD, meta)])
    store.dispose()
    at = open_dashboard(monkeypatch, hub.url)
    assert texts(at) == [PAYLOAD]  # the element's data, drawn with textContent: no Markdown, no HTML
    assert board(at)["messages"][0]["meta"]["symbol"] == PAYLOAD  # the meta line is text too
    for element in [*at.markdown, *at.caption]:
        assert not re.search(r"(?<!\\)<img", element.value)
        assert not re.search(r"(?<!\\)\]\(javascript", element.value)


@pytest.mark.parametrize(
    "text",
    [PAYLOAD, "GPT-4 Momentum", "1. not a list", "# not a heading", "a@b.com www.example.com", "line\nbreak"],
)
def test_escaped_markdown_keeps_every_character_and_escapes_all_punctuation(text: str) -> None:
    escaped = escape_markdown(text)
    assert escaped.replace("\\", "").replace("\u2060", "") == " ".join(text.split())
    unescaped_punctuation = [
        char for index, char in enumerate(escaped) if char in "<>[]()*_`$:#!|~" and escaped[index - 1] != "\\"
    ]
    assert unescaped_punctuation == []


def test_diagnostics_page_shows_the_feed_state_and_the_hub_health(
    monkeypatch: pytest.MonkeyPatch, hub: InProcessHub
) -> None:
    made = hub.generate().json()["messages"]
    at = open_dashboard(monkeypatch, hub.url)
    at.switch_page(DIAGNOSTICS).run()
    assert not at.exception
    metrics = {metric.label: metric.value for metric in at.metric}
    assert metrics["State"] == "realtime"
    assert metrics["Last event id"] == str(made[-1]["id"])
    assert metrics["Reconnects"] == "0"
    assert {"Last heartbeat", "Events received", "Messages received", "Duplicates dropped"} <= set(metrics)
    assert hub.url in markdown(at)
    health = at.table[0].value
    assert dict(zip(health["field"], health["value"], strict=True))["status"] == "ok"


def test_run_connection_test_shows_every_check_in_a_table(
    monkeypatch: pytest.MonkeyPatch, start_hub: Callable[..., InProcessHub]
) -> None:
    """The test waits for a heartbeat, so the hub beats every 2 s, not every 30: long enough for the session's
    feed (two periods without a byte is a dead stream) in this busy process, short enough not to idle a worker."""
    hub = start_hub(heartbeat_seconds=2)
    at = open_dashboard(monkeypatch, hub.url)
    at.switch_page(DIAGNOSTICS).run()
    button(at, "Run connection test").click().run(timeout=60)
    checks = at.table[-1].value
    assert list(checks["check"]) == list(CHECK_NAMES)
    assert set(checks["result"]) == {"✅ PASS"}
    assert "all 7 checks passed" in at.success[0].value


def test_sidebar_choices_survive_a_change_of_page(monkeypatch: pytest.MonkeyPatch, hub: InProcessHub) -> None:
    at = open_dashboard(monkeypatch, hub.url)
    at.radio(key="layout").set_value("Tabs").run()
    at.toggle(key="sse").set_value(False).run()
    at.switch_page(DIAGNOSTICS).run()  # the sidebar is drawn on every page, from the same state
    assert at.radio(key="layout").value == "Tabs"
    assert at.toggle(key="sse").value is False


def test_ending_the_session_closes_its_feed_and_its_connection(
    monkeypatch: pytest.MonkeyPatch, hub: InProcessHub
) -> None:
    open_dashboard(monkeypatch, hub.url)
    assert len(feed_threads()) == 1
    wait_until(lambda: clients(hub) == 1, timeout=5)
    st.cache_resource.clear()  # Streamlit releases a session's resources when its tab disconnects
    wait_until(lambda: not feed_threads(), timeout=3)
    wait_until(lambda: clients(hub) == 0, timeout=5)


def test_changing_feed_settings_replaces_the_feed_and_leaks_no_connection(
    monkeypatch: pytest.MonkeyPatch, hub: InProcessHub
) -> None:
    at = open_dashboard(monkeypatch, hub.url)
    for enabled in (False, True, False, True):
        at.toggle(key="sse").set_value(enabled).run()
    at.number_input(key="poll_seconds").set_value(5.0).run()
    assert len(feed_threads()) == 1
    wait_until(lambda: clients(hub) == 1, timeout=5)


def clients(hub: InProcessHub) -> int:
    return int(web.get(f"{hub.url}/healthz", timeout=5).json()["clients"])


def test_the_element_per_card_drawing_stays_behind_its_setting(
    monkeypatch: pytest.MonkeyPatch, hub: InProcessHub
) -> None:
    made = hub.generate().json()["messages"]
    at = open_dashboard(monkeypatch, hub.url, dashboard_cards="elements")
    assert not at.exception
    assert board(at) == {}  # no live chat element
    assert sorted(element.value for element in at.text) == sorted(message["content"] for message in made)
