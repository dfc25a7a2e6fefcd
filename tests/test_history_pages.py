"""The History page and the agent page: pure figures as functions, the pages in AppTest against a real hub."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from agentchat.agents import BUILTIN_ROSTER
from agentchat.dashboard import history_page
from agentchat.dashboard.agent_figures import equity_series, message_rows, risk_figures
from agentchat.dashboard.history_page import selection_of
from tests.kit import web
from tests.kit.aging import age_messages
from tests.kit.apptest import board_texts, run_until
from tests.kit.hubs import InProcessHub
from tests.kit.paths import ROOT

pytestmark = pytest.mark.usefixtures("dashboard_env")  # tests/conftest.py: the dashboard's clean environment

APP = ROOT / "app.py"
HISTORY = "pages/3_History.py"
AGENT = "pages/4_Agent.py"
NAMES = {agent.id: agent.name for agent in BUILTIN_ROSTER}


# pure ---------------------------------------------------------------------------------------------


def test_equity_series_has_the_drawdown_from_the_running_peak() -> None:
    points = [
        {"round": 1, "at": "2026-11-23T10:00:00.000Z", "equity": 110.0},
        {"round": 2, "at": "2026-11-23T10:15:00.000Z", "equity": 99.0},
        {"round": 3, "at": "2026-11-23T10:30:00.000Z", "equity": 121.0},
    ]
    series = equity_series(100.0, points)
    assert [row["drawdown_pct"] for row in series] == [0.0, -10.0, 0.0]
    figures = risk_figures(100.0, series, win_rate=0.5)
    assert figures.rounds == 3 and figures.return_pct == pytest.approx(21.0)
    assert figures.largest_loss == pytest.approx(-11.0)
    assert figures.max_drawdown_pct == pytest.approx(10.0)
    returns = [0.1, -0.1, 121 / 99 - 1]
    mean = sum(returns) / 3
    spread = (sum((value - mean) ** 2 for value in returns) / 2) ** 0.5
    assert figures.sharpe == pytest.approx(mean / spread)


def test_risk_figures_of_a_flat_or_short_history_are_empty_not_an_error() -> None:
    assert risk_figures(100.0, [], None).sharpe is None
    flat = equity_series(100.0, [{"round": 1, "at": "2026-11-23T10:00:00Z", "equity": 100.0}] * 3)
    figures = risk_figures(100.0, flat, None)
    assert (figures.sharpe, figures.largest_loss, figures.max_drawdown_pct) == (None, None, 0.0)


def test_message_rows_keep_text_as_text_and_link_the_agent_page() -> None:
    message = {
        "id": 7,
        "agent_id": "grok_sentiment",
        "kind": "trade",
        "content": "**not bold** <b>x</b>",
        "created_at": "2026-11-23T10:15:00.123Z",
        "meta": {"symbol": "BTC", "side": "buy", "quantity": 2, "price": 1.5},
    }
    (row,) = message_rows([message], NAMES)
    assert row["message"] == "**not bold** <b>x</b>"
    assert row["page"] == "agent?agent=grok_sentiment"
    assert (row["time (UTC)"], row["agent"], row["side"], row["quantity"]) == (
        "2026-11-23 10:15:00",
        NAMES["grok_sentiment"],
        "buy",
        2.0,
    )


def test_the_days_of_the_filters_are_whole_utc_days() -> None:
    selection = selection_of([], ["trade"], " btc ", "any", "", date(2026, 11, 23), date(2026, 11, 23))
    assert selection.params() == {
        "kind": "trade",
        "symbol": "BTC",
        "since": "2026-11-23T00:00:00.000Z",
        "until": "2026-11-24T00:00:00.000Z",
    }


# the pages in AppTest -----------------------------------------------------------------------------


def open_page(monkeypatch: pytest.MonkeyPatch, hub_url: str, page: str, **query: str) -> AppTest:
    monkeypatch.setenv("AGENTCHAT_HUB_URL", hub_url)
    at = AppTest.from_file(str(APP), default_timeout=20).run()
    if page != "app.py":
        at.switch_page(page)
        for key, value in query.items():
            at.query_params[key] = value
        at.run()
    assert not at.exception, [exception.value for exception in at.exception]
    return at


def table_ids(at: AppTest) -> list[int]:
    return [int(value) for value in at.dataframe[0].value["id"]]


def test_history_page_filters_searches_pages_and_offers_the_export(
    monkeypatch: pytest.MonkeyPatch, hub: InProcessHub
) -> None:
    made = [message for _ in range(3) for message in hub.generate().json()["messages"]]
    newest_first = sorted((message["id"] for message in made), reverse=True)
    monkeypatch.setattr(history_page, "PAGE_SIZE", 5)
    at = open_page(monkeypatch, hub.url, HISTORY)
    assert [title.value for title in at.title] == ["History"]
    assert table_ids(at) == newest_first[:5]
    at.button(key="history_older").click().run()
    assert table_ids(at) == newest_first[5:10]
    at.button(key="history_newer").click().run()
    assert table_ids(at) == newest_first[:5]
    word = made[7]["content"].split()[1]
    at.text_input(key="history_q").set_value(word.upper()).run()  # new filters: from the newest page again
    searched = web.get(f"{hub.url}/api/chat/history", params={"q": word, "limit": 5}).json()["messages"]
    assert table_ids(at) == [message["id"] for message in searched]
    assert made[7]["id"] in [message["id"] for message in searched] or len(searched) == 5
    at.text_input(key="history_q").set_value("").run()
    at.multiselect(key="history_agents").set_value(["grok_sentiment"]).run()
    grok = [message["id"] for message in reversed(made) if message["agent_id"] == "grok_sentiment"]
    assert table_ids(at) == grok
    assert len(at.get("download_button")) == 2  # CSV and JSON Lines of what the filters select


def test_agent_page_shows_a_trade_whose_message_is_older_than_the_window(
    monkeypatch: pytest.MonkeyPatch, start_hub: Any, sqlite_url: str
) -> None:
    hub: InProcessHub = start_hub(max_per_agent=1, retention_seconds=60)
    trade: dict[str, Any] | None = None
    for _ in range(20):  # rounds until some agent trades
        trade = next((m for m in hub.generate().json()["messages"] if m["meta"].get("side")), None)
        if trade is not None:
            break
    assert trade is not None
    age_messages(sqlite_url, 3600)  # an hour ago: past the retention
    hub.generate([trade["agent_id"]])  # the agent's latest now: the trade's message leaves the window
    assert trade["id"] not in [message["id"] for message in hub.messages(since_id=0)["messages"]]
    at = open_page(monkeypatch, hub.url, AGENT, agent=trade["agent_id"])
    assert [title.value for title in at.title] == [NAMES[trade["agent_id"]]]
    shown = [frame.value for frame in at.dataframe if "side" in frame.value and "message" in frame.value]
    trades = shown[0]  # the trades come before the thread
    assert list(trades.columns)[:2] == ["time (UTC)", "side"]
    assert trade["content"] in list(trades["message"])
    assert {"Sharpe (per round)", "Win rate", "Largest loss", "Max drawdown"} <= {m.label for m in at.metric}
    assert len(at.get("vega_lite_chart")) == 1  # equity over time, with the drawdown under it


def test_a_fresh_dashboard_shows_each_agents_latest_message_long_after_the_round(
    monkeypatch: pytest.MonkeyPatch, start_hub: Any, sqlite_url: str
) -> None:
    first: InProcessHub = start_hub()
    made = [first.generate().json()["messages"] for _ in range(2)]
    first.stop()
    age_messages(sqlite_url, 3600)  # an hour ago: far past a 3 s retention
    hub: InProcessHub = start_hub(retention_seconds=3)
    at = open_page(monkeypatch, hub.url, "app.py")
    latest = [message["content"] for message in made[-1]]

    def shown(at: AppTest) -> bool:
        return set(latest) <= set(board_texts(at))

    run_until(at, shown)
