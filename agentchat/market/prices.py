"""A seeded toy market, so that offline messages quote numbers that hang together.

Without one shared simulation every agent would invent its own prices and the feed would contradict
itself. `Market.step()` advances one bar per round:

- a regime chain (calm, normal, stressed) sets the volatility each instrument is pulled toward, and a
  GARCH(1,1)-style recursion lets shocks cluster, so quiet stretches and violent ones alternate;
- one common risk factor moves everything at once (crypto and equities with it, gold against it),
  with rare jumps on top: those are the bars that become alerts;
- prices are rounded to each instrument's tick after every bar, so the price an agent writes, the
  price in `meta` and the price positions are marked at are the same number;
- a weak pull toward each starting level keeps a demo that runs for weeks near realistic prices.

The market is a value, not a process: `Market.state()` is a JSON-ready dict of everything that makes
the next bar, and `Market.from_state()` rebuilds it, so the hub keeps the market in the store and any
hub on that store continues the same series. Each bar draws from its own `random.Random` seeded with
the market's seed and the bar number (`bar_rng`), never from a generator carried between bars: the
stored state is small, and bar N is the same bar whichever process computes it.

Positions and their accounting are `books.py`, the trading rules `trading.py`: the same code books
the simulation's trades, an external agent's orders and the model's decisions.
"""

from __future__ import annotations

import math
import random
import secrets
import statistics
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

__all__ = [
    "BARS_PER_YEAR",
    "FAST_BARS",
    "INSTRUMENTS",
    "SLOW_BARS",
    "STATE_VERSION",
    "WARMUP_BARS",
    "AssetClass",
    "Instrument",
    "Market",
    "MarketSnapshot",
    "Quote",
    "Regime",
    "bar_rng",
    "format_price",
]

AssetClass = Literal["crypto", "index", "commodity", "fx"]
Regime = Literal["calm", "normal", "stressed"]

BARS_PER_YEAR = 365 * 96  # one bar per 15-minute round, around the clock
FAST_BARS = 8
SLOW_BARS = 24
WARMUP_BARS = SLOW_BARS + 8  # so moving averages and ranges mean something from the first round

_GARCH_ALPHA = 0.10
_GARCH_BETA = 0.85
_JUMP_PROBABILITY = 0.012  # per instrument and bar, scaled by the regime
_MAX_LOG_RETURN = 0.2
_ANCHOR_PULL = 0.002
_REGIME_VOL: Mapping[Regime, float] = {"calm": 0.6, "normal": 1.0, "stressed": 2.4}
_REGIME_NEXT: Mapping[Regime, tuple[tuple[Regime, float], ...]] = {
    "calm": (("calm", 0.94), ("normal", 0.06)),
    "normal": (("calm", 0.04), ("normal", 0.93), ("stressed", 0.03)),
    "stressed": (("normal", 0.12), ("stressed", 0.88)),
}
_US10Y_START_PCT = 4.30
STATE_VERSION = 1


def bar_rng(seed: int, stream: str, bar: int) -> random.Random:
    """The random source of one bar of one stream ("market", "voices", "warmup"): a function of its name alone.

    A string seed goes through SHA-512, so this is the same in every process whatever PYTHONHASHSEED is.
    """
    return random.Random(f"agentchat:{seed}:{stream}:{bar}")


def _check_version(state: Mapping[str, Any]) -> None:
    if state.get("version") != STATE_VERSION:
        raise ValueError(f"market state version {state.get('version')!r}; this version reads {STATE_VERSION}")


def _pstdev(values: list[float]) -> float:
    """Population standard deviation; `statistics.pstdev` is exact but ~20x slower, and a round is hot."""
    mean = math.fsum(values) / len(values)
    return math.sqrt(math.fsum([(value - mean) ** 2 for value in values]) / len(values))


@dataclass(frozen=True, slots=True)
class Instrument:
    symbol: str
    asset_class: AssetClass
    start_price: float
    annual_vol: float  # long-run annualized volatility, as a fraction
    decimals: int  # price tick is 10 ** -decimals
    risk_beta: float  # correlation with the common risk factor
    carry_bps: float  # typical premium of the perp or future over spot
    quantity_decimals: int = 2  # the lot: a trade's quantity is rounded to this many decimals

    @property
    def bar_vol(self) -> float:
        """Normal volatility of one bar's log return."""
        return self.annual_vol / math.sqrt(BARS_PER_YEAR)


INSTRUMENTS: tuple[Instrument, ...] = (
    Instrument("BTC", "crypto", 71_250.0, 0.55, 1, 0.65, 8.0, quantity_decimals=4),
    Instrument("ETH", "crypto", 3_820.0, 0.70, 2, 0.70, 9.0, quantity_decimals=3),
    Instrument("SOL", "crypto", 182.0, 0.95, 2, 0.65, 12.0, quantity_decimals=2),
    Instrument("SPX", "index", 5_930.0, 0.16, 2, 0.75, 4.0, quantity_decimals=2),
    Instrument("GOLD", "commodity", 2_655.0, 0.15, 2, -0.20, 3.0, quantity_decimals=2),
    Instrument("EURUSD", "fx", 1.0850, 0.07, 5, 0.25, 1.0, quantity_decimals=0),
)


def format_price(price: float, decimals: int) -> str:
    """A price as a desk writes it: thousands separators, the instrument's tick."""
    return f"{price:,.{decimals}f}"


@dataclass(frozen=True, slots=True)
class Quote:
    """One instrument after a bar: everything a writer may quote about it."""

    symbol: str
    asset_class: AssetClass
    decimals: int
    price: float
    move_pct: float  # since the previous bar
    move_sigma: float  # the move in units of the instrument's normal bar volatility
    sigma_pct: float  # the model's volatility forecast for the next bar, in percent
    vol_ratio: float  # that forecast over the instrument's normal bar volatility
    realized_vol_pct: float  # annualized, from the last SLOW_BARS moves
    ma_fast: float
    ma_slow: float
    window_std: float  # standard deviation of the last SLOW_BARS closes
    zscore: float  # (price - ma_slow) / window_std
    range_high: float  # highest close of the SLOW_BARS bars before this one
    range_low: float
    window_change_pct: float  # over the last SLOW_BARS bars
    funding_pct_8h: float | None  # perpetual funding per 8 hours; crypto only
    basis_bps: float  # perp or future over spot
    venue_gap_bps: float  # the second venue's price over the first's
    spread_bps: float  # a fair quoted spread at this volatility
    flow_imbalance: float  # -1 all sellers .. +1 all buyers
    sentiment: float  # -1 .. +1, social and news tone
    mentions_ratio: float  # social mentions against their usual level
    quantity_decimals: int = 2  # the instrument's lot

    def format(self, price: float) -> str:
        return format_price(price, self.decimals)

    @property
    def price_text(self) -> str:
        """The price exactly as messages print it."""
        return self.format(self.price)


@dataclass(frozen=True, slots=True)
class MarketSnapshot:
    """The whole market after one bar; immutable, so writers can share it."""

    bar: int
    regime: Regime
    us10y_pct: float
    us10y_change_bps: float
    quotes: Mapping[str, Quote]

    @property
    def symbols(self) -> tuple[str, ...]:
        return tuple(self.quotes)

    def prices(self) -> dict[str, float]:
        """Each instrument's price after this bar: what books are filled and marked at."""
        return {symbol: quote.price for symbol, quote in self.quotes.items()}

    def fear_greed(self) -> int:
        """0 (extreme fear) .. 100 (extreme greed), from crypto sentiment."""
        crypto = [q.sentiment for q in self.quotes.values() if q.asset_class == "crypto"]
        tone = statistics.fmean(crypto) if crypto else 0.0
        return max(0, min(100, round(50 + 50 * tone)))

    def risk_tone(self) -> float:
        """-1 risk-off .. +1 risk-on: equities and crypto moving and trending up, gold not bid."""
        score = 0.0
        for symbol, weight in (("SPX", 0.5), ("BTC", 0.25), ("GOLD", -0.2)):
            quote = self.quotes.get(symbol)
            if quote is not None:
                trend = (quote.ma_fast / quote.ma_slow - 1) * 100 / max(quote.sigma_pct, 1e-9)
                score += weight * (quote.move_sigma + trend)
        return math.tanh(score / 2.5)


_STATE_FIELDS = (
    "price",
    "variance",
    "last_return",
    "funding_pct_8h",
    "basis_bps",
    "venue_gap_bps",
    "flow_imbalance",
    "sentiment",
    "mentions_ratio",
)


@dataclass(slots=True)
class _State:
    """One instrument's moving parts between bars."""

    price: float
    variance: float
    last_return: float = 0.0
    closes: deque[float] = field(default_factory=lambda: deque(maxlen=SLOW_BARS + 1))
    returns: deque[float] = field(default_factory=lambda: deque(maxlen=SLOW_BARS))
    funding_pct_8h: float = 0.01
    basis_bps: float = 0.0
    venue_gap_bps: float = 0.0
    flow_imbalance: float = 0.0
    sentiment: float = 0.0
    mentions_ratio: float = 1.0

    @classmethod
    def fresh(cls, inst: Instrument) -> _State:
        state = cls(price=inst.start_price, variance=inst.bar_vol**2, basis_bps=inst.carry_bps)
        state.closes.append(state.price)
        return state

    def to_dict(self) -> dict[str, Any]:
        values: dict[str, Any] = {name: getattr(self, name) for name in _STATE_FIELDS}
        values["closes"] = list(self.closes)
        values["returns"] = list(self.returns)
        return values

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> _State:
        state = cls(price=float(values["price"]), variance=float(values["variance"]))
        for name in _STATE_FIELDS:
            setattr(state, name, float(values[name]))
        state.closes.extend(map(float, values["closes"]))
        state.returns.extend(map(float, values["returns"]))
        return state


class Market:
    """Advances the instruments one bar at a time; each bar's randomness comes from the seed and the bar number."""

    def __init__(self, seed: int | None = None) -> None:
        self.seed = secrets.randbits(63) if seed is None else seed
        self._bar = 0
        self._regime: Regime = "normal"
        self._us10y_pct = _US10Y_START_PCT
        self._us10y_change_bps = 0.0
        self._states = {inst.symbol: _State.fresh(inst) for inst in INSTRUMENTS}
        for warmup_bar in range(WARMUP_BARS):
            self._advance(bar_rng(self.seed, "warmup", warmup_bar))
        self._bar = 0
        self._snapshot: MarketSnapshot | None = None  # built when first read

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> Market:
        """The market `state()` described; an instrument the state does not know starts afresh."""
        _check_version(state)
        market = cls.__new__(cls)
        market.seed = int(state["seed"])
        market._bar = int(state["bar"])
        market._regime = _regime(str(state["regime"]))
        market._us10y_pct = float(state["us10y_pct"])
        market._us10y_change_bps = float(state["us10y_change_bps"])
        stored: Mapping[str, Any] = state["instruments"]
        market._states = {
            inst.symbol: _State.from_dict(stored[inst.symbol]) if inst.symbol in stored else _State.fresh(inst)
            for inst in INSTRUMENTS
        }
        market._snapshot = None  # built when first read: a round steps at once and builds the next bar's
        return market

    @staticmethod
    def prices_of(state: Mapping[str, Any]) -> dict[str, float]:
        """`from_state(state).snapshot.prices()` without building the snapshot: a quote's price is its state's."""
        _check_version(state)
        stored: Mapping[str, Any] = state["instruments"]
        return {
            inst.symbol: float(stored[inst.symbol]["price"]) if inst.symbol in stored else inst.start_price
            for inst in INSTRUMENTS
        }

    def state(self) -> dict[str, Any]:
        """Everything the next bar depends on, as plain JSON values (floats survive JSON exactly)."""
        return {
            "version": STATE_VERSION,
            "seed": self.seed,
            "bar": self._bar,
            "regime": self._regime,
            "us10y_pct": self._us10y_pct,
            "us10y_change_bps": self._us10y_change_bps,
            "instruments": {symbol: state.to_dict() for symbol, state in self._states.items()},
        }

    @property
    def snapshot(self) -> MarketSnapshot:
        """The market after the latest bar."""
        if self._snapshot is None:
            self._snapshot = self._build_snapshot()
        return self._snapshot

    def step(self) -> MarketSnapshot:
        """Advance one bar and return the new snapshot."""
        self._advance(bar_rng(self.seed, "market", self._bar + 1))
        self._snapshot = self._build_snapshot()
        return self._snapshot

    def _advance(self, rng: random.Random) -> None:
        self._bar += 1
        self._regime = self._next_regime(rng)
        multiplier = _REGIME_VOL[self._regime]
        common = rng.gauss(0.0, 1.0)
        for inst in INSTRUMENTS:
            self._advance_instrument(rng, inst, self._states[inst.symbol], common, multiplier)
        drift_back = -0.03 * (self._us10y_pct - _US10Y_START_PCT) * 100
        self._us10y_change_bps = round(rng.gauss(0.0, 1.2 * multiplier) + 0.6 * common + drift_back, 1)
        self._us10y_pct = round(self._us10y_pct + self._us10y_change_bps / 100, 3)

    def _next_regime(self, rng: random.Random) -> Regime:
        choices = _REGIME_NEXT[self._regime]
        return rng.choices([name for name, _ in choices], weights=[p for _, p in choices])[0]

    def _advance_instrument(
        self, rng: random.Random, inst: Instrument, state: _State, common: float, multiplier: float
    ) -> None:
        beta = inst.risk_beta
        shock = beta * common + math.sqrt(1 - beta * beta) * rng.gauss(0.0, 1.0)
        if rng.random() < _JUMP_PROBABILITY * multiplier:
            shock *= rng.uniform(2.5, 4.5)
        pull = -_ANCHOR_PULL * math.log(state.price / inst.start_price)
        log_return = max(-_MAX_LOG_RETURN, min(_MAX_LOG_RETURN, math.sqrt(state.variance) * shock + pull))
        tick = 10.0**-inst.decimals
        new_price = max(tick, round(state.price * math.exp(log_return), inst.decimals))
        realized = math.log(new_price / state.price)
        state.price = new_price
        state.last_return = realized
        # The variance is the forecast for the next bar, so a violent bar shows as high volatility at once.
        state.variance = (
            (1 - _GARCH_ALPHA - _GARCH_BETA) * (inst.bar_vol * multiplier) ** 2
            + _GARCH_ALPHA * realized**2
            + _GARCH_BETA * state.variance
        )
        state.closes.append(new_price)
        state.returns.append(realized)
        self._advance_side_markets(rng, inst, state, realized / inst.bar_vol, common)

    @staticmethod
    def _advance_side_markets(
        rng: random.Random, inst: Instrument, state: _State, move_sigma: float, common: float
    ) -> None:
        """Funding, basis, venue gap, order flow and chatter all follow the price, with noise."""
        vol_ratio = math.sqrt(state.variance) / inst.bar_vol
        carry_scale = math.sqrt(inst.carry_bps)
        if inst.asset_class == "crypto":
            funding = 0.9 * state.funding_pct_8h + 0.001 + 0.002 * move_sigma + rng.gauss(0.0, 0.002)
            state.funding_pct_8h = max(-0.075, min(0.15, funding))
        state.basis_bps = (
            0.85 * state.basis_bps
            + 0.15 * inst.carry_bps
            + 0.9 * carry_scale * move_sigma
            + rng.gauss(0.0, 0.6 * carry_scale)
        )
        state.venue_gap_bps = 0.6 * state.venue_gap_bps + rng.gauss(0.0, 1.2 * carry_scale * vol_ratio)
        flow = 0.5 * state.flow_imbalance + 0.35 * math.tanh(move_sigma) + rng.gauss(0.0, 0.2)
        state.flow_imbalance = max(-0.95, min(0.95, flow))
        tone = 0.85 * state.sentiment + 0.12 * math.tanh(move_sigma / 1.5) + 0.05 * common
        state.sentiment = max(-1.0, min(1.0, tone + rng.gauss(0.0, 0.06)))
        mentions = 0.7 * state.mentions_ratio + 0.3 * (1 + 0.35 * abs(move_sigma)) + rng.gauss(0.0, 0.08)
        state.mentions_ratio = max(0.3, min(6.0, mentions))

    def _build_snapshot(self) -> MarketSnapshot:
        quotes = {inst.symbol: self._quote(inst, self._states[inst.symbol]) for inst in INSTRUMENTS}
        return MarketSnapshot(
            bar=self._bar,
            regime=self._regime,
            us10y_pct=self._us10y_pct,
            us10y_change_bps=self._us10y_change_bps,
            quotes=MappingProxyType(quotes),
        )

    @staticmethod
    def _quote(inst: Instrument, state: _State) -> Quote:
        closes = list(state.closes)
        price = state.price
        previous = closes[-2] if len(closes) > 1 else price
        window = closes[-SLOW_BARS:]
        before = closes[:-1] or closes
        ma_slow = statistics.fmean(window)
        window_std = _pstdev(window)
        returns = list(state.returns)
        sigma = math.sqrt(state.variance)
        return Quote(
            symbol=inst.symbol,
            asset_class=inst.asset_class,
            decimals=inst.decimals,
            price=price,
            move_pct=(price / previous - 1) * 100,
            move_sigma=state.last_return / inst.bar_vol,
            sigma_pct=sigma * 100,
            vol_ratio=sigma / inst.bar_vol,
            realized_vol_pct=(_pstdev(returns) if len(returns) > 1 else sigma) * math.sqrt(BARS_PER_YEAR) * 100,
            ma_fast=round(statistics.fmean(closes[-FAST_BARS:]), inst.decimals),
            ma_slow=round(ma_slow, inst.decimals),
            window_std=window_std,
            zscore=(price - ma_slow) / window_std if window_std > 0 else 0.0,
            range_high=max(before),
            range_low=min(before),
            window_change_pct=(price / closes[0] - 1) * 100,
            funding_pct_8h=state.funding_pct_8h if inst.asset_class == "crypto" else None,
            basis_bps=state.basis_bps,
            venue_gap_bps=state.venue_gap_bps,
            spread_bps=max(0.5, sigma * 10_000 * 0.15),
            flow_imbalance=state.flow_imbalance,
            sentiment=state.sentiment,
            mentions_ratio=state.mentions_ratio,
            quantity_decimals=inst.quantity_decimals,
        )


def _regime(text: str) -> Regime:
    for regime in _REGIME_VOL:
        if text == regime:
            return regime
    raise ValueError(f"unknown regime {text!r}")
