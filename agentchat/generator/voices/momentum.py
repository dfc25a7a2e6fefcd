"""The momentum voice: trend, breakouts and moving averages.

It keeps the engine's directional plan (buy strength, sell weakness) and only has its own eye for
symbols, signal and vocabulary; a losing close reads as a stop-out (`close_loss`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import ClassVar

from agentchat.generator.formatting import band
from agentchat.generator.writers import Plan, Writer, breakout, sign, trend_strength
from agentchat.market.prices import MarketSnapshot, Quote

__all__ = ["MomentumWriter"]


class MomentumWriter(Writer):
    """Trend, breakouts and moving averages: buys strength, sells weakness."""

    strategy = "momentum"
    openers = (
        "{sym} {px}, {mv} on the bar and {chg} over {slow} bars.",
        "{sym} printing {px} ({mv}); fast MA {maf} vs slow {mas}.",
        "Trend check {sym}: {px}, {mv}, {slow}-bar range {lo} to {hi}.",
    )
    actions: ClassVar[Mapping[str, tuple[str, ...]]] = {
        "open": (
            "Going {long_short} {size} at {px} with the trend.",
            "{side_cap} the {break_word}, {size} on at {px}.",
        ),
        "add": ("Pressing it: adding {size}, now {pos}.", "Trend is paying, adding {size}; {pos}."),
        "trim": ("Taking {size} off, the trend is tiring.", "Locking some in: {size} out, {pos} left."),
        "close": (
            "Momentum rolled over, flattening the {size} {old_dir}, P&L {pnl}.",
            "Out of the {old_dir} at {px}, {size}, P&L {pnl}. Trend is gone.",
        ),
        "close_loss": (
            "Stopped out of the {size} {old_dir} at {px}, P&L {pnl}.",
            "Trend failed me: out of the {old_dir} at {px}, P&L {pnl}.",
        ),
        "hold": ("Staying with it, {pos}, stop trails to {stop}.", "Riding {pos}, no reason to touch it."),
        "watch": (
            "Leaning {lean_word}, waiting for a close beyond {trigger}.",
            "Setting up {lean_word}, needs a break of {trigger} first.",
        ),
        "pass": ("No trend worth chasing yet.", "Chop, not a trend; flat until it picks a side."),
    }
    reply_agree = (
        "{name}, with you on {sym}: trend is {trend_word} and {px} ({mv}) confirms it.",
        "{name} has it right on {sym}. {px}, {mv}, fast MA {ma_cmp} the slow ({maf} vs {mas}).",
    )
    reply_disagree = (
        "{name}, fighting the {sym} tape at {px} ({mv}) is expensive; my read is {lean_word}.",
        "Careful {name}, your {sym} {their_call} fights the tape: {px}, {mv}, {chg} over {slow} bars.",
    )
    reply_unsure = (
        "{name}, {sym} has no trend for me at {px} ({mv}); fast and slow MAs are on top of each other.",
        "{name}, {sym} is chopping around {px}, {mv} on the bar, no momentum call from me.",
    )

    def weight(self, quote: Quote, market: MarketSnapshot) -> float:
        return 0.4 + abs(trend_strength(quote)) / 2 + abs(breakout(quote)) + abs(quote.move_sigma) / 2

    def signal(self, quote: Quote, market: MarketSnapshot) -> float:
        drift = 0.2 * quote.move_sigma / max(quote.vol_ratio, 0.5)
        return math.tanh(0.5 * trend_strength(quote) + 0.6 * breakout(quote) + drift)

    def reasons(self, quote: Quote, market: MarketSnapshot) -> list[str]:
        reasons = [
            "8-bar MA {ma_cmp} the 24-bar ({maf} vs {mas}), trend {trend_word}.",
            "Vol {volx} normal, ranges are {vol_word}.",
        ]
        move = breakout(quote)
        if move > 0:
            reasons.append("Clean break of the {slow}-bar high at {hi}.")
        elif move < 0:
            reasons.append("Lost the {slow}-bar low at {lo}, sellers in control.")
        else:
            reasons.append("Still inside the {slow}-bar range {lo} to {hi}.")
        if abs(quote.move_sigma) >= 1.5:
            reasons.append("A {sig} sigma bar usually gets follow-through.")
        return reasons

    def extra_fields(self, quote: Quote, market: MarketSnapshot, plan: Plan) -> dict[str, str]:
        lean = plan.lean or sign(trend_strength(quote))
        return {
            "ma_cmp": "above" if quote.ma_fast >= quote.ma_slow else "below",
            "vol_word": band(quote.vol_ratio, 0.8, 1.3, ("quiet", "normal", "expanding")),
            "side_cap": "Buying" if plan.lean > 0 else "Selling",
            "break_word": {1: "breakout", -1: "breakdown"}.get(breakout(quote), "trend"),
            "trigger": quote.format(quote.range_high if lean >= 0 else quote.range_low),
        }
