"""Books and the simulation's state as values: the accounting, its replay, and a state that survives the store.

Pure code, no hub: the properties here are what lets every hub on one store make one market
(a round is a function of the stored state) and what lets anyone check a book from the trade
messages alone (`replay`). Hypothesis draws the fills and the rounds.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentchat.agents import BUILTIN_ROSTER
from agentchat.generator import OfflineGenerator
from agentchat.hub.openapi import build_document
from agentchat.market.books import START_CASH, Book, Fill, Position
from agentchat.market.prices import INSTRUMENTS, Market
from agentchat.market.report import BookReport, rank
from agentchat.market.state import SimulationState
from agentchat.message import dumps
from tests.kit.market_replay import InMemorySimulation, book_entry, fill_from_meta, replay

SYMBOLS = [instrument.symbol for instrument in INSTRUMENTS]
START_PRICES = {instrument.symbol: instrument.start_price for instrument in INSTRUMENTS}

fills = st.lists(
    st.builds(
        Fill,
        symbol=st.sampled_from(SYMBOLS[:3]),
        quantity=st.integers(-500, 500).filter(bool).map(lambda lots: lots / 100),
        price=st.integers(50, 150).map(float),
    ),
    max_size=40,
)
agent_subsets = st.lists(st.sets(st.sampled_from([agent.id for agent in BUILTIN_ROSTER]), min_size=1), max_size=8)


def round_trip(state: SimulationState) -> SimulationState:
    """The state as the store keeps it: through JSON text and back."""
    return SimulationState.from_dict(json.loads(json.dumps(state.to_dict())))


# Accounting -------------------------------------------------------------------------------------


@given(fills)
def test_equity_is_start_cash_plus_realized_plus_unrealized_pnl(trades: list[Fill]) -> None:
    book = replay(Book(), trades)
    prices = {"BTC": 120.0, "ETH": 80.0, "SOL": 101.0}
    assert book.equity(prices) == pytest.approx(START_CASH + book.realized_pnl + book.unrealized_pnl(prices))


@given(fills)
def test_cash_moves_by_each_fills_notional_and_positions_sum_the_quantities(trades: list[Fill]) -> None:
    book = replay(Book(), trades)
    assert book.cash == pytest.approx(START_CASH - sum(fill.quantity * fill.price for fill in trades))
    for symbol in SYMBOLS[:3]:
        held = sum(fill.quantity for fill in trades if fill.symbol == symbol)
        assert book.position(symbol).quantity == pytest.approx(held, abs=1e-9)
    assert book.trades == len(trades)
    assert book.winning_trades <= book.closed_trades <= book.trades


@given(fills, fills)
def test_replaying_in_two_parts_from_a_snapshot_is_replaying_all_at_once(first: list[Fill], then: list[Fill]) -> None:
    snapshot = Book.from_dict(json.loads(json.dumps(replay(Book(), first).to_dict())))
    assert replay(snapshot, then) == replay(Book(), first + then)


def test_a_closing_fill_with_a_profit_is_a_win_and_one_with_a_loss_is_not() -> None:
    book = replay(Book(), [Fill("BTC", 2, 100.0), Fill("BTC", -1, 110.0), Fill("BTC", -1, 90.0)])
    assert (book.trades, book.closed_trades, book.winning_trades) == (3, 2, 1)
    assert book.win_rate == 0.5
    assert book.realized_pnl == pytest.approx(0.0)
    assert book.position("BTC") == Position()


def test_a_book_that_never_closed_a_trade_has_no_win_rate() -> None:
    entry = book_entry("a", replay(Book(), [Fill("BTC", 1, 100.0)]), {"BTC": 90.0})
    assert entry["win_rate"] is None
    assert entry["unrealized_pnl"] == -10.0 and entry["equity"] == START_CASH - 10.0


def test_drawdown_is_the_deepest_fall_from_a_peak_over_the_marks() -> None:
    book, _ = Book().filled(Fill("BTC", 10_000, 100.0))
    for price in (110.0, 99.0, 120.0, 114.0):
        book = book.marked({"BTC": price})
    assert book.peak_equity == START_CASH + 200_000
    assert book.max_drawdown_pct == pytest.approx(110_000 / 1_100_000 * 100)


def test_fills_are_read_back_only_from_messages_that_traded() -> None:
    assert fill_from_meta({"symbol": "BTC", "side": "sell", "price": 70_000.5, "quantity": -0.25}) == Fill(
        "BTC", -0.25, 70_000.5
    )
    assert fill_from_meta({"symbol": "BTC", "side": None, "price": 70_000.5}) is None
    assert fill_from_meta({"symbol": "BTC", "price": "70k", "quantity": 1}) is None


def test_a_book_report_read_back_from_its_wire_form_writes_the_same_bytes() -> None:
    book = replay(Book(), [Fill("BTC", 0.5, 70_000.0), Fill("ETH", -2, 3_800.0), Fill("BTC", -0.25, 71_000.0)])
    report = BookReport.of("a", book.marked({"BTC": 70_500.5, "ETH": 3_790.25}), {"BTC": 70_500.5, "ETH": 3_790.25})
    text = dumps(report.wire())
    assert dumps(BookReport.model_validate(json.loads(text)).wire()) == text
    assert list(json.loads(text)) == list(BookReport.model_fields)  # the keys on the wire, in the model's order


def test_the_openapi_book_entry_is_the_book_report_models_schema() -> None:
    component = build_document(BUILTIN_ROSTER, token_required=False)["components"]["schemas"]["BookEntry"]
    assert list(component["properties"]) == component["required"] == list(BookReport.model_fields)
    assert component["properties"]["agent_id"] == {"$ref": "#/components/schemas/AgentId"}
    assert component["additionalProperties"] is False


def test_ranking_is_by_equity_then_agent_id() -> None:
    entries = [BookReport.of(agent_id, Book(cash=cash), {}) for agent_id, cash in (("b", 5.0), ("c", 9.0), ("a", 5.0))]
    assert [entry.agent_id for entry in rank(entries)] == ["c", "a", "b"]


# The simulation as a value ----------------------------------------------------------------------


def test_the_market_state_survives_json_and_continues_the_same_series() -> None:
    straight = Market(seed=41)
    for _ in range(5):
        straight.step()
    restored = Market.from_state(json.loads(json.dumps(straight.state())))
    assert restored.snapshot == straight.snapshot
    assert [restored.step() for _ in range(20)] == [straight.step() for _ in range(20)]


def test_a_states_prices_are_its_snapshots_prices_before_and_after_rounds() -> None:
    """`SimulationState.prices()` reads the prices without building the quotes: the same numbers."""
    generator = OfflineGenerator()
    state = SimulationState.new(seed=45)
    assert state.prices() == state.snapshot().prices()
    for index in range(8):
        simulated = generator.next_round(state, BUILTIN_ROSTER[: 1 + index % 6], [])
        state = round_trip(simulated.state)
        assert state.prices() == state.snapshot().prices() == simulated.market.prices()


def test_bar_n_of_a_seed_is_the_same_bar_whoever_computes_it() -> None:
    """Prices depend on the seed and the bar number alone: not on the agents asked or what they said."""
    many = InMemorySimulation(seed=42)
    one = InMemorySimulation(seed=42)
    for _ in range(10):
        many.generate_round(BUILTIN_ROSTER, [])
        one.generate_round(BUILTIN_ROSTER[:1], [])
    assert many.snapshot() == one.snapshot()


@settings(max_examples=25, deadline=None)
@given(agent_subsets)
def test_a_round_is_a_function_of_the_stored_state(rounds: list[set[str]]) -> None:
    generator = OfflineGenerator()
    state = SimulationState.new(seed=43)
    for ids in rounds:
        agents = [agent for agent in BUILTIN_ROSTER if agent.id in ids]
        first = generator.next_round(state, agents, [])
        again = generator.next_round(round_trip(state), agents, [])
        assert again.drafts == first.drafts and again.state == first.state
        state = round_trip(first.state)
    assert state.round == len(rounds)


@settings(max_examples=25, deadline=None)
@given(agent_subsets)
def test_books_replayed_from_the_drafts_fills_are_the_simulations_books(rounds: list[set[str]]) -> None:
    generator = OfflineGenerator()
    state = SimulationState.new(seed=44)
    for _ in range(3):  # start from books that already hold something
        state = generator.next_round(state, BUILTIN_ROSTER, []).state
    snapshot = state
    traded: dict[str, list[Fill]] = {}
    for ids in rounds:
        simulated = generator.next_round(state, [agent for agent in BUILTIN_ROSTER if agent.id in ids], [])
        for draft in simulated.drafts:
            fill = fill_from_meta(draft.meta)
            if fill is not None:
                traded.setdefault(draft.agent_id, []).append(fill)
        state = simulated.state
    for agent in BUILTIN_ROSTER:
        rebuilt = replay(snapshot.book(agent.id), traded.get(agent.id, []))
        book = state.book(agent.id)
        assert (rebuilt.cash, dict(rebuilt.positions), rebuilt.realized_pnl) == (
            book.cash,
            dict(book.positions),
            book.realized_pnl,
        )
        assert (rebuilt.trades, rebuilt.closed_trades, rebuilt.winning_trades) == (
            book.trades,
            book.closed_trades,
            book.winning_trades,
        )


def test_every_book_is_marked_each_round_even_when_its_agent_was_not_asked() -> None:
    generator = OfflineGenerator()
    state = SimulationState.new(seed=45)
    for _ in range(30):
        state = generator.next_round(state, BUILTIN_ROSTER, []).state
    holder = next(agent_id for agent_id, book in state.books.items() if book.positions)
    expected = state.book(holder)
    for _ in range(20):
        simulated = generator.next_round(state, [a for a in BUILTIN_ROSTER if a.id != holder], [])
        expected = expected.marked({symbol: quote.price for symbol, quote in simulated.market.quotes.items()})
        state = simulated.state
    assert state.book(holder) == expected
    assert state.round == 50 and state.prices().keys() == START_PRICES.keys()
