"""The Leaderboard: its pure parts (`standings`) as functions, and the page in Streamlit's AppTest.

The page runs against a real hub on a free port, as `streamlit run app.py` would; AppTest does not
fire the fragment's timer, so a test reruns the script to stand in for a tick (`run_until`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from agentchat.agents import BUILTIN_ROSTER, Agent
from agentchat.contract import PERFORMANCE_PATH
from agentchat.dashboard.formatting import escape_markdown
from agentchat.dashboard.standings import (
    equity_rows,
    next_round_text,
    pct,
    round_status,
    signed_money,
    standings,
    trade_rows,
    whole_money,
)
from tests.kit import web
from tests.kit.apptest import markdown, run_until, standings_data
from tests.kit.hubs import InProcessHub
from tests.kit.paths import ROOT

pytestmark = pytest.mark.usefixtures("dashboard_env")  # tests/conftest.py: the dashboard's clean environment

APP = ROOT / "app.py"
LEADERBOARD = "pages/2_Leaderboard.py"
CLAUDE, GROK = BUILTIN_ROSTER[0], BUILTIN_ROSTER[-1]


def entry(agent_id: str, equity: float, **fields: Any) -> dict[str, Any]:
    """An agent's entry as the hub sends it (`BookReport`), with `fields` in place of the defaults."""
    base = {
        "agent_id": agent_id,
        "equity": equity,
        "cash": equity,
        "realized_pnl": 0.0,
        "unrealized_pnl": 0.0,
        "return_pct": (equity / 1_000_000 - 1) * 100,
        "positions": [],
        "trades": 0,
        "closed_trades": 0,
        "winning_trades": 0,
        "win_rate": None,
        "max_drawdown_pct": 0.0,
    }
    return base | fields


def position(symbol: str, quantity: float, price: float) -> dict[str, Any]:
    return {"symbol": symbol, "quantity": quantity, "avg_price": price, "mark_price": price, "unrealized_pnl": 0.0}


# standings: pure ----------------------------------------------------------------------------------


def test_standings_keep_the_hubs_ranking_and_describe_open_positions() -> None:
    performance = {
        "agents": [
            entry(
                GROK.id,
                1_002_000.0,
                positions=[position("BTC", 0.25, 71_250.0), position("EURUSD", -873143.0, 1.085)],
            ),
            entry(CLAUDE.id, 998_000.0, win_rate=0.5, closed_trades=4),
            entry("stranger", 990_000.0),
        ]
    }
    rows = standings(performance, BUILTIN_ROSTER)
    assert [(row.rank, row.agent.id) for row in rows] == [(1, GROK.id), (2, CLAUDE.id), (3, "stranger")]
    assert rows[0].positions == "BTC +0.25 · EURUSD -873,143"
    assert rows[1].win_rate_text == "50% of 4" and rows[0].win_rate_text == "—"
    assert rows[2].agent == Agent("stranger", "stranger", "#9E9E9E", "")


def test_standings_of_a_malformed_answer_are_empty_not_an_error() -> None:
    assert standings({"agents": "nope"}, BUILTIN_ROSTER) == []
    assert standings({"agents": [None, 3]}, BUILTIN_ROSTER) == []


@pytest.mark.parametrize(
    ("asked", "complete", "text"),
    [
        ([agent.id for agent in BUILTIN_ROSTER], True, "Round 7: all 6 agents"),
        ([CLAUDE.id], False, "Round 7: 1 of 6 agents, missing GPT-4 Momentum, Gemini Mean Reversion,"),
    ],
)
def test_round_status_says_complete_or_which_agents_are_missing(asked: list[str], complete: bool, text: str) -> None:
    done, said = round_status({"round": 7, "round_agents": asked}, BUILTIN_ROSTER)
    assert done is complete and said.startswith(text)


def test_round_status_before_the_first_round() -> None:
    assert round_status({"round": 0, "round_agents": []}, BUILTIN_ROSTER) == (False, "No round yet")


@pytest.mark.parametrize(
    ("now", "text"),
    [
        (datetime(2026, 11, 23, 10, 3, 0, tzinfo=UTC), "Next round in 12 min"),
        (datetime(2026, 11, 23, 10, 14, 20, tzinfo=UTC), "Next round in 40 s"),
        (datetime(2026, 11, 23, 10, 15, 0, tzinfo=UTC), "Next round in 15 min"),
    ],
)
def test_next_round_is_the_end_of_the_schedules_current_slot(now: datetime, text: str) -> None:
    assert next_round_text(15, now) == text


def test_figures_are_written_without_a_currency_sign() -> None:
    assert (whole_money(1_002_345.67), signed_money(2345.6), signed_money(-12.4), signed_money(0.0)) == (
        "1,002,346",
        "+2,346",
        "-12",
        "0",
    )
    assert (pct(0.2566), pct(None), pct(3.5, signed=False)) == ("+0.26%", "—", "3.50%")


def test_equity_rows_give_each_agent_its_name_and_colour() -> None:
    rows = equity_rows({CLAUDE.id: [{"round": 1, "equity": 1.0}, {"round": 2, "equity": 2.0}]}, BUILTIN_ROSTER)
    assert rows == [
        {"agent": CLAUDE.name, "color": CLAUDE.color, "round": 1, "equity": 1.0},
        {"agent": CLAUDE.name, "color": CLAUDE.color, "round": 2, "equity": 2.0},
    ]


def test_trade_rows_are_the_agents_messages_that_traded_with_their_words() -> None:
    traded = {"symbol": "SOL", "side": "buy", "price": 177.17, "quantity": 1693.29, "position_after": 1693.29}
    messages = [
        {"agent_id": CLAUDE.id, "created_at": "2026-11-23T10:15:00.123Z", "content": "Buying SOL.", "meta": traded},
        {"agent_id": CLAUDE.id, "created_at": "2026-11-23T10:00:00.000Z", "content": "Flat.", "meta": {"side": None}},
        {"agent_id": GROK.id, "created_at": "2026-11-23T10:15:00.123Z", "content": "Mine.", "meta": traded},
    ]
    assert trade_rows(messages, CLAUDE.id) == [
        {
            "time (UTC)": "10:15:00",
            "side": "buy",
            "quantity": 1693.29,
            "symbol": "SOL",
            "price": 177.17,
            "position after": 1693.29,
            "message": "Buying SOL.",
        }
    ]


# The page in AppTest ----------------------------------------------------------------------------


@pytest.fixture
def dashboard_feeds_timeout() -> float:
    """The Leaderboard's tests give a session's feed up to 30 s to be released after a test, not 5."""
    return 30.0


def open_leaderboard(monkeypatch: pytest.MonkeyPatch, hub_url: str) -> AppTest:
    monkeypatch.setenv("AGENTCHAT_HUB_URL", hub_url)
    at = AppTest.from_file(APP, default_timeout=20).run()
    return at.switch_page(LEADERBOARD).run()


def test_leaderboard_ranks_every_agent_with_the_equity_the_hub_reports(
    monkeypatch: pytest.MonkeyPatch, hub: InProcessHub
) -> None:
    for _ in range(3):
        hub.generate()
    at = open_leaderboard(monkeypatch, hub.url)
    assert not at.exception
    assert [title.value for title in at.title] == ["Leaderboard"]
    books = web.get(f"{hub.url}/api/agents/performance", timeout=10).json()
    page = markdown(at)
    for entry_ in books["agents"]:
        assert escape_markdown(whole_money(entry_["equity"])) in page
    names = {agent.id: agent.name for agent in BUILTIN_ROSTER}
    order = [page.index(escape_markdown(names[entry_["agent_id"]])) for entry_ in books["agents"]]
    assert order == sorted(order)
    assert escape_markdown("Round 3: all 6 agents") in at.success[0].value
    assert len(at.get("vega_lite_chart")) == 1  # the equity curves


def test_leaderboard_moves_after_a_round_and_says_a_partial_round(
    monkeypatch: pytest.MonkeyPatch, hub: InProcessHub
) -> None:
    hub.generate()
    at = open_leaderboard(monkeypatch, hub.url)
    hub.generate(["claude_arbitrage"])
    run_until(at, lambda at: at.info and escape_markdown("Round 2: 1 of 6 agents") in at.info[0].value)


def test_leaderboard_without_a_hub_says_why_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    at = open_leaderboard(monkeypatch, "http://127.0.0.1:9")
    assert not at.exception
    assert "The books cannot be read" in at.error[-1].value and "unreachable" in at.error[-1].value


def test_the_live_page_shows_the_standings_in_one_line(monkeypatch: pytest.MonkeyPatch, hub: InProcessHub) -> None:
    hub.generate()
    books = web.get(f"{hub.url}{PERFORMANCE_PATH}", timeout=10).json()
    monkeypatch.setenv("AGENTCHAT_HUB_URL", hub.url)
    at = AppTest.from_file(APP, default_timeout=20).run()
    line = standings_data(at)  # drawn by the live chat element, in the agents' readable colours
    assert [row["agent"]["id"] for row in line["standings"]] == [entry["agent_id"] for entry in books["agents"]]
    assert [row["equity"] for row in line["standings"]] == [whole_money(entry["equity"]) for entry in books["agents"]]
    assert line["caption"].startswith("Round 1: all 6 agents · Next round in ")


def test_the_element_per_card_drawing_keeps_the_standings_as_a_markdown_line(
    monkeypatch: pytest.MonkeyPatch, hub: InProcessHub
) -> None:
    hub.generate()
    monkeypatch.setenv("AGENTCHAT_HUB_URL", hub.url)
    monkeypatch.setenv("AGENTCHAT_DASHBOARD_CARDS", "elements")
    at = AppTest.from_file(APP, default_timeout=20).run()
    line = next(m.value for m in at.markdown if m.value.startswith("**1\\. "))
    assert all(escape_markdown(agent.name) in line for agent in BUILTIN_ROSTER)
    assert any(escape_markdown("Round 1: all 6 agents") in caption.value for caption in at.caption)
    assert standings_data(at) == {}
