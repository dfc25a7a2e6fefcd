"""The mean-reversion voice: z-scores against the 24-bar mean.

It fades stretched moves and, unlike the directional plan, takes a fade off once price is back at
the mean, whatever the signal says then.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from agentchat.generator.writers import OPEN_SIGNAL, Context, Plan, Writer, clip, sign
from agentchat.market.prices import MarketSnapshot, Quote

__all__ = ["MeanReversionWriter"]


class MeanReversionWriter(Writer):
    """Z-scores against the 24-bar mean: fades stretched moves, takes profit at the mean."""

    strategy = "mean_reversion"
    rule: ClassVar[Mapping[str, str]] = {
        "signal": "minus the z-score beyond 0.8 sigma, over 1.2, -1 .. +1: fade the stretch",
        "open": f"flat and |signal| >= {OPEN_SIGNAL}",
        "size": "the shared ticket rule on |signal|",
        "close": "price back at the 24-bar mean",
    }
    openers = (
        "{sym} at {px} ({mv}) is {z} sigma from its 24-bar mean of {mas}.",
        "{sym} {px} ({mv}), z-score {z} against the 24-bar mean.",
        "Stretch check on {sym}: {px}, {mv} on the bar, {chg} over {slow} bars, z {z}.",
    )
    actions: ClassVar[Mapping[str, tuple[str, ...]]] = {
        "open": (
            "Fading it: {side_word} {size} at {px}, target {mas}.",
            "Opening a {size} {long_short} fade, aim {mas}.",
        ),
        "add": (
            "Scaling into the fade, another {size}; {pos}.",
            "Adding {size} to the fade at better levels.",
        ),
        "trim": (
            "Most of the reversion is done, taking {size} off.",
            "Banking half near the mean: {size} out.",
        ),
        "close": (
            "Back at the mean, closing the {size} {old_dir}, P&L {pnl}.",
            "Reversion done, {size} {old_dir} closed at {px} for {pnl}.",
        ),
        "close_loss": (
            "Stretch kept going, cutting the {old_dir} fade, P&L {pnl}.",
            "Wrong on this one, out of the {size} {old_dir} at {px}, P&L {pnl}.",
        ),
        "hold": ("Holding the fade, {pos}, target {mas}.", "Patience: {pos}, mean is {mas}."),
        "watch": (
            "Not stretched enough to fade; I would go {lean_word} nearer {trigger}.",
            "Leaning {lean_word} but want {trigger} before I fade it.",
        ),
        "pass": ("Sitting on hands, price is inside the band.", "Inside 1 sigma, nothing to fade."),
    }
    reply_agree = (
        "{name}, agree on {sym}: z {z} at {px} ({mv}) leaves room back toward {mas}.",
        "{name}, same side on {sym} from the stats: {px} ({mv}) vs a {mas} mean, z {z}.",
    )
    reply_disagree = (
        "{name}, I would fade that {sym} {their_call}: {px} ({mv}) is {z} sigma from the mean.",
        "{name}, {sym} at {px} is already stretched (z {z}, {mv} on the bar); chasing it is late.",
    )
    reply_unsure = (
        "{name}, {sym} at {px} ({mv}) is only {z} sigma out, no edge for me either way.",
        "{name}, {sym} is inside its band at {px} ({mv}); nothing to fade or follow.",
    )

    def weight(self, quote: Quote, market: MarketSnapshot) -> float:
        return 0.3 + max(0.0, abs(quote.zscore) - 0.5) ** 2

    def signal(self, quote: Quote, market: MarketSnapshot) -> float:
        excess = max(0.0, abs(quote.zscore) - 0.8) / 1.2
        return -sign(quote.zscore) * clip(excess, 0.0, 1.0)

    def plan(self, ctx: Context, quote: Quote, signal: float) -> Plan:
        """A fade is done once price is back at the mean, whatever the signal says."""
        position = ctx.position(quote.symbol)
        if position.direction and (quote.price - quote.ma_slow) * position.direction >= 0:
            confidence = self.confidence(0.5, ctx.rng)
            return Plan.traded("close", confidence, position, -position.quantity, quote)
        return super().plan(ctx, quote, signal)

    def reasons(self, quote: Quote, market: MarketSnapshot) -> list[str]:
        reasons = [
            "Band is {band} per sigma with realized vol at {rvol}.",
            "Last bar {mv}, {bar_note}.",
        ]
        if abs(quote.zscore) >= 1.5:
            reasons.append("Beyond 1.5 sigma the odds favour a snap back toward {mas}.")
        else:
            reasons.append("Price is within 1.5 sigma of {mas}, the band holds.")
        return reasons

    def extra_fields(self, quote: Quote, market: MarketSnapshot, plan: Plan) -> dict[str, str]:
        extending = sign(quote.move_pct) == sign(quote.zscore)
        lean = plan.lean or -sign(quote.zscore)
        return {
            "band": quote.format(quote.window_std),
            "bar_note": "extending the stretch" if extending else "already leaning back to the mean",
            "trigger": quote.format(quote.ma_slow - lean * 2 * quote.window_std),
        }
