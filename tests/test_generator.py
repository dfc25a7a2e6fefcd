"""The offline generator: what every round of messages promises, read as a specification.

Everything is seeded, so each test is deterministic; the feed is simulated the way the hub runs it,
by turning each round's drafts into stored messages and passing the latest ones back as `recent`.
"""

from __future__ import annotations

import re
import statistics
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime

import pytest

from agentchat.agents import BUILTIN_ROSTER, STRATEGIES, Agent
from agentchat.generator import OfflineGenerator
from agentchat.generator.voices import GENERIC_WRITER, writer_for
from agentchat.generator.writers import ALERT_SIGMA
from agentchat.market.books import Position
from agentchat.market.generation import Generator
from agentchat.market.prices import INSTRUMENTS, Market
from agentchat.message import MESSAGE_KINDS, Draft, Message
from tests.kit.market_replay import InMemorySimulation

SIGNED_PERCENT = re.compile(r"[+-]\d+\.\d+%")
META_KEYS = {"symbol", "side", "price", "confidence", "reply_to"}
FILL_KEYS = {"quantity", "position_after"}
MARKUP = set("<>*_`#$~[]|\\")
SYMBOLS = {instrument.symbol for instrument in INSTRUMENTS}
RECENT_LIMIT = 30


class Feed:
    """Stores drafts as the hub would (increasing ids) and hands back the latest as `recent`."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    def recent(self) -> list[Message]:
        return self.messages[-RECENT_LIMIT:]

    def store(self, drafts: Sequence[Draft]) -> list[Message]:
        stored = [
            Message(
                id=len(self.messages) + index + 1,
                agent_id=draft.agent_id,
                agent_name=draft.agent_name,
                kind=draft.kind,
                content=draft.content,
                created_at=datetime.now(UTC),
                meta=draft.meta,
            )
            for index, draft in enumerate(drafts)
        ]
        self.messages.extend(stored)
        return stored


def run_feed(
    generator: InMemorySimulation, rounds: int, agents: Sequence[Agent] = BUILTIN_ROSTER
) -> Iterator[tuple[list[Message], list[Draft]]]:
    """Yield (recent as passed in, drafts) for each round of a live feed."""
    feed = Feed()
    for _ in range(rounds):
        recent = feed.recent()
        drafts = generator.generate_round(agents, recent)
        yield recent, drafts
        feed.store(drafts)


def all_drafts(seed: int, rounds: int) -> list[Draft]:
    return [draft for _, drafts in run_feed(InMemorySimulation(seed), rounds) for draft in drafts]


def message_from(agent_id: str, agent_name: str, message_id: int, symbol: str, side: str | None) -> Message:
    return Message(
        id=message_id,
        agent_id=agent_id,
        agent_name=agent_name,
        kind="analysis",
        content=f"{symbol} looks interesting here.",
        created_at=datetime.now(UTC),
        meta={"symbol": symbol, "side": side, "price": 1.0, "confidence": 0.5, "reply_to": None},
    )


# The shape of a round ---------------------------------------------------------------------------


def test_offline_generator_satisfies_the_generator_protocol() -> None:
    assert isinstance(OfflineGenerator(), Generator)


def test_round_has_one_draft_per_agent_in_the_order_given() -> None:
    generator = InMemorySimulation(seed=1)
    for agents in (BUILTIN_ROSTER, tuple(reversed(BUILTIN_ROSTER)), BUILTIN_ROSTER[:2]):
        drafts = generator.generate_round(agents, [])
        assert [(d.agent_id, d.agent_name) for d in drafts] == [(a.id, a.name) for a in agents]


def test_round_for_no_agents_is_empty() -> None:
    assert InMemorySimulation(seed=1).generate_round([], []) == []


def test_every_draft_has_a_known_kind_and_exactly_the_meta_keys() -> None:
    for draft in all_drafts(seed=2, rounds=60):
        assert draft.kind in MESSAGE_KINDS
        assert set(draft.meta) == (META_KEYS | FILL_KEYS if draft.meta["side"] else META_KEYS)
        assert draft.meta["symbol"] in SYMBOLS
        assert draft.meta["side"] in ("buy", "sell", None)
        assert isinstance(draft.meta["price"], float) and draft.meta["price"] > 0
        confidence = draft.meta["confidence"]
        assert 0 <= confidence <= 1 and round(confidence, 2) == confidence
        assert draft.meta["reply_to"] is None or isinstance(draft.meta["reply_to"], int)
        assert (draft.kind == "reply") == (draft.meta["reply_to"] is not None)


def test_content_is_plain_ascii_text_of_80_to_400_characters() -> None:
    for seed in (3, 4, 5):
        for draft in all_drafts(seed, rounds=80):
            assert 80 <= len(draft.content) <= 400, draft.content
            assert draft.content.isascii() and draft.content.isprintable(), draft.content
            assert not MARKUP & set(draft.content), draft.content


def test_all_four_kinds_occur_in_a_long_feed() -> None:
    kinds = {draft.kind for draft in all_drafts(seed=6, rounds=120)}
    assert kinds == set(MESSAGE_KINDS)


# Determinism and variety ------------------------------------------------------------------------


def test_same_seed_gives_the_same_rounds() -> None:
    assert all_drafts(seed=7, rounds=15) == all_drafts(seed=7, rounds=15)


def test_different_seeds_give_different_text() -> None:
    first = [draft.content for draft in all_drafts(seed=7, rounds=5)]
    second = [draft.content for draft in all_drafts(seed=8, rounds=5)]
    assert not set(first) & set(second)


def test_messages_differ_from_round_to_round() -> None:
    contents = [draft.content for draft in all_drafts(seed=9, rounds=20)]
    assert len(set(contents)) >= 0.95 * len(contents)


def test_an_agent_does_not_repeat_its_sentences_round_after_round() -> None:
    """Messages are composed from fragments and numbers, not drawn from a list of whole sentences."""
    sentences = [
        sentence
        for draft in all_drafts(seed=10, rounds=30)
        if draft.agent_id == "chatgpt_openai"
        for sentence in draft.content.split(". ")
    ]
    assert len(set(sentences)) >= 0.6 * len(sentences)


# Consistency with the simulated market ----------------------------------------------------------


@pytest.mark.parametrize("seed", [11, 31, 32])
def test_meta_price_is_the_simulated_price_and_the_text_names_price_and_move(seed: int) -> None:
    generator = InMemorySimulation(seed)
    for _, drafts in run_feed(generator, rounds=60):
        quotes = generator.snapshot().quotes
        for draft in drafts:
            quote = quotes[draft.meta["symbol"]]
            assert draft.meta["price"] == quote.price
            assert quote.price_text in draft.content, (quote.price_text, draft.content)
            assert SIGNED_PERCENT.search(draft.content), draft.content


def test_alerts_are_the_violent_moves_and_every_violent_move_is_an_alert() -> None:
    generator = InMemorySimulation(seed=12)
    alerts = 0
    for _, drafts in run_feed(generator, rounds=150):
        quotes = generator.snapshot().quotes
        for draft in drafts:
            if draft.kind == "reply":
                continue
            violent = abs(quotes[draft.meta["symbol"]].move_sigma) >= ALERT_SIGMA
            assert (draft.kind == "alert") == violent, draft
            alerts += violent
    assert alerts > 0


@pytest.mark.parametrize(
    ("strategy", "vocabulary"),
    [
        ("arbitrage", ("basis", "carry", "spot", "perp", "future")),
        ("momentum", ("trend", "MA", "bars", "range", "breakout", "break")),
        ("mean_reversion", ("mean", "z-score", "sigma", "fade", "stretch")),
        ("market_making", ("Quoting", "quotes", "inventory", "mid", "bid", "offered")),
        ("macro", ("10y", "rates", "Macro", "dollar", "risk")),
        ("sentiment", ("chatter", "tone", "mentions", "Fear/greed", "crowd", "Social")),
    ],
)
def test_each_strategy_speaks_its_own_vocabulary(strategy: str, vocabulary: tuple[str, ...]) -> None:
    agent = Agent(f"{strategy}_agent", f"The {strategy} desk", "#123456", strategy)
    generator = InMemorySimulation(seed=13)
    drafts = [draft for _, round_ in run_feed(generator, rounds=40, agents=[agent]) for draft in round_]
    assert drafts
    for draft in drafts:
        assert any(word.lower() in draft.content.lower() for word in vocabulary), draft.content


def test_builtin_strategies_all_have_their_own_writer() -> None:
    assert all(writer_for(strategy) is not GENERIC_WRITER for strategy in STRATEGIES)


def test_agent_with_an_unknown_strategy_still_gets_a_sensible_message() -> None:
    agent = Agent("oracle", "Zoë Oracle", "#123456", "astrology")
    generator = InMemorySimulation(seed=14)
    for _, drafts in run_feed(generator, rounds=30, agents=[agent]):
        (draft,) = drafts
        quote = generator.snapshot().quotes[draft.meta["symbol"]]
        assert draft.kind in ("analysis", "trade", "alert")
        assert quote.price_text in draft.content
        assert 80 <= len(draft.content) <= 400 and draft.content.isascii()


# Replies ----------------------------------------------------------------------------------------


def test_agents_sometimes_reply_to_another_agents_recent_message() -> None:
    generator = InMemorySimulation(seed=15)
    replies = total = 0
    for recent, drafts in run_feed(generator, rounds=60):
        by_id = {message.id: message for message in recent}
        for draft in drafts:
            total += 1
            if draft.kind != "reply":
                continue
            replies += 1
            target = by_id[draft.meta["reply_to"]]
            assert target.agent_id != draft.agent_id
            assert draft.meta["symbol"] == target.meta["symbol"]
            assert target.agent_name in draft.content
            assert target.meta["symbol"] in draft.content
    assert 0.12 <= replies / total <= 0.28


def test_without_recent_messages_nobody_replies() -> None:
    generator = InMemorySimulation(seed=16)
    for _ in range(50):
        drafts = generator.generate_round(BUILTIN_ROSTER, [])
        assert all(d.kind != "reply" and d.meta["reply_to"] is None for d in drafts)


def test_an_agent_never_replies_to_its_own_messages() -> None:
    agent = BUILTIN_ROSTER[1]
    own = [message_from(agent.id, agent.name, 100 + i, "BTC", "buy") for i in range(10)]
    generator = InMemorySimulation(seed=17)
    for _ in range(100):
        (draft,) = generator.generate_round([agent], own)
        assert draft.kind != "reply"


def test_messages_about_symbols_outside_the_market_get_no_reply() -> None:
    stranger = message_from("stranger", "Stranger", 5, "AAPL", "buy")
    generator = InMemorySimulation(seed=18)
    for _ in range(60):
        assert all(d.kind != "reply" for d in generator.generate_round(BUILTIN_ROSTER, [stranger]))


def test_reply_names_another_agent_in_ascii_even_when_its_name_is_not() -> None:
    other = message_from("zoe", "Zoë Quant ☃", 42, "ETH", "sell")
    generator = InMemorySimulation(seed=19)
    replies = [
        draft for _ in range(40) for draft in generator.generate_round(BUILTIN_ROSTER, [other]) if draft.kind == "reply"
    ]
    assert replies
    for draft in replies:
        assert draft.meta["reply_to"] == 42 and draft.meta["symbol"] == "ETH"
        assert "Zoe Quant" in draft.content and draft.content.isascii()


# The market -------------------------------------------------------------------------------------


def test_market_volatility_changes_over_time() -> None:
    market = Market(seed=20)
    moves = [abs(market.step().quotes["BTC"].move_pct) for _ in range(200)]
    windows = [statistics.fmean(moves[start : start + 20]) for start in range(0, 200, 20)]
    assert max(windows) > 2 * min(windows)
    vol_ratios = [market.step().quotes["ETH"].vol_ratio for _ in range(200)]
    assert max(vol_ratios) > 1.5 * min(vol_ratios)


def test_market_regime_is_sometimes_calm_and_sometimes_stressed() -> None:
    market = Market(seed=21)
    regimes = {market.step().regime for _ in range(500)}
    assert regimes == {"calm", "normal", "stressed"}


@pytest.mark.parametrize("seed", [22, 23, 24])
def test_prices_stay_positive_and_near_realistic_levels(seed: int) -> None:
    market = Market(seed=seed)
    for _ in range(2000):
        snapshot = market.step()
        for instrument in INSTRUMENTS:
            price = snapshot.quotes[instrument.symbol].price
            assert 0.5 * instrument.start_price < price < 2 * instrument.start_price


def test_same_market_seed_gives_the_same_prices() -> None:
    first, second = Market(seed=25), Market(seed=25)
    assert [first.step().quotes["SOL"].price for _ in range(50)] == [
        second.step().quotes["SOL"].price for _ in range(50)
    ]


def test_crypto_quotes_carry_funding_and_others_do_not() -> None:
    quotes = Market(seed=26).step().quotes
    for quote in quotes.values():
        assert (quote.funding_pct_8h is not None) == (quote.asset_class == "crypto")


# Positions --------------------------------------------------------------------------------------


def test_side_is_set_exactly_when_a_message_trades_with_its_signed_quantity_and_position_after() -> None:
    generator = InMemorySimulation(seed=33)
    fills = views_without_trade = 0
    for _ in range(80):
        before = {agent.id: generator.positions(agent.id) for agent in BUILTIN_ROSTER}
        for draft in generator.generate_round(BUILTIN_ROSTER, []):
            meta = draft.meta
            old = before[draft.agent_id].get(meta["symbol"], Position()).quantity
            new = generator.positions(draft.agent_id).get(meta["symbol"], Position()).quantity
            if meta["side"] is None:
                assert "quantity" not in meta and "position_after" not in meta
                assert new == old, draft
                views_without_trade += draft.kind == "analysis"
                continue
            fills += 1
            assert (meta["quantity"] > 0) == (meta["side"] == "buy")
            assert meta["position_after"] == new
            assert new == pytest.approx(old + meta["quantity"])
    assert fills > 20 and views_without_trade > 20


def test_a_message_that_holds_or_only_leans_carries_no_side() -> None:
    drafts = all_drafts(seed=34, rounds=60)
    no_action = [d for d in drafts if d.kind in ("analysis", "reply")]
    assert no_action
    assert all(d.meta["side"] is None for d in no_action)
    assert any("no position" in d.content.lower() or "flat" in d.content.lower() for d in no_action)


def test_a_trade_changes_that_agents_position_in_the_direction_of_its_side() -> None:
    generator = InMemorySimulation(seed=27)
    trades = 0
    for _ in range(60):
        before = {agent.id: generator.positions(agent.id) for agent in BUILTIN_ROSTER}
        drafts = generator.generate_round(BUILTIN_ROSTER, [])
        for draft in drafts:
            symbol = draft.meta["symbol"]
            old = before[draft.agent_id].get(symbol, Position()).quantity
            new = generator.positions(draft.agent_id).get(symbol, Position()).quantity
            if draft.kind == "trade":
                trades += 1
                assert new != old, draft
                assert (new > old) == (draft.meta["side"] == "buy"), draft
            elif draft.kind == "analysis":
                assert new == old, draft
    assert trades > 20


def test_positions_are_per_agent() -> None:
    generator = InMemorySimulation(seed=28)
    for _ in range(10):
        generator.generate_round(BUILTIN_ROSTER[:1], [])
    assert generator.positions(BUILTIN_ROSTER[0].id)
    assert generator.positions(BUILTIN_ROSTER[1].id) == {}


def test_closing_trades_realize_pnl_from_the_simulated_prices() -> None:
    generator = InMemorySimulation(seed=29)
    for _ in range(150):
        generator.generate_round(BUILTIN_ROSTER, [])
    assert any(generator.realized_pnl(agent.id) != 0 for agent in BUILTIN_ROSTER)


@pytest.mark.parametrize(
    ("start", "fill", "price", "after", "realized"),
    [
        (Position(), 2.0, 100.0, Position(2.0, 100.0), 0.0),
        (Position(2.0, 100.0), 2.0, 110.0, Position(4.0, 105.0), 0.0),
        (Position(2.0, 100.0), -1.0, 110.0, Position(1.0, 100.0), 10.0),
        (Position(2.0, 100.0), -2.0, 90.0, Position(), -20.0),
        (Position(2.0, 100.0), -3.0, 110.0, Position(-1.0, 110.0), 20.0),
        (Position(-2.0, 100.0), 1.0, 90.0, Position(-1.0, 100.0), 10.0),
    ],
)
def test_position_uses_average_cost_accounting(
    start: Position, fill: float, price: float, after: Position, realized: float
) -> None:
    position, pnl = start.after_fill(fill, price)
    assert position == after
    assert pnl == pytest.approx(realized)


# Threads ----------------------------------------------------------------------------------------


def test_rounds_from_several_threads_each_advance_the_market_once() -> None:
    generator = InMemorySimulation(seed=30)
    results: list[list[Draft]] = []

    def worker() -> None:
        for _ in range(25):
            results.append(generator.generate_round(BUILTIN_ROSTER, []))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert generator.snapshot().bar == 100
    assert all(len(drafts) == len(BUILTIN_ROSTER) for drafts in results)
