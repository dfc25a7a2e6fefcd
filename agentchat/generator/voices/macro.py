"""The macro voice: rates, the dollar and risk appetite.

It reads the whole snapshot (10y, EURUSD, the risk composite) and trades only a few big liquid
proxies (`universe`); other symbols never catch its eye.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from agentchat.generator.formatting import band, signed_pct
from agentchat.generator.writers import Plan, Writer, clip, trend_strength
from agentchat.market.prices import MarketSnapshot, Quote

__all__ = ["MacroWriter"]


class MacroWriter(Writer):
    """Rates, the dollar and risk appetite; trades only the big liquid proxies."""

    strategy = "macro"
    universe: ClassVar[tuple[str, ...]] = ("SPX", "GOLD", "EURUSD", "BTC")
    openers = (
        "10y at {y10} ({y10chg}), {sym} {px} ({mv}); the tape reads {tone_word}.",
        "{sym} {px}, {mv}. Backdrop: 10y {y10}, EURUSD {eur}, SPX {spx_mv}.",
        "Macro read on {sym} at {px} ({mv}): {tone_word}, {regime} regime.",
    )
    actions: ClassVar[Mapping[str, tuple[str, ...]]] = {
        "open": (
            "{side_cap} {size} {sym} as a {tone_word} expression.",
            "Putting on {size} {long_short} {sym}; the macro backdrop supports it.",
        ),
        "add": ("Adding {size}, now {pos}, the theme is still working.", "Leaning in: {size} more, {pos}."),
        "trim": ("Taking {size} off into the move; {pos} left.", "Trimming {size}, keeping the core."),
        "close": (
            "Backdrop changed, out of the {sym} {old_dir}, P&L {pnl}.",
            "Closing the {size} {old_dir}; rates and FX no longer agree. P&L {pnl}.",
        ),
        "hold": ("Keeping {pos}; the theme needs time.", "Sitting with {pos}, macro unchanged."),
        "watch": (
            "Leaning {lean_word} {sym}, waiting for rates to confirm.",
            "Bias {lean_word}, but I want the 10y to move first.",
        ),
        "pass": ("Mixed signals across rates and FX, flat {sym}.", "No macro edge in {sym} today, flat."),
    }
    reply_agree = (
        "{name}, agree on {sym}: 10y at {y10}, a {tone_word} tape, {px} ({mv}) still makes sense.",
        "{name}, macro lines up with your {sym} {their_call} at {px} ({mv}): 10y {y10chg}, EURUSD {eur}.",
    )
    reply_disagree = (
        "{name}, the macro does not back your {sym} {their_call} at {px} ({mv}): 10y {y10}, {tone_word}.",
        "{name}, I would not be there in {sym} at {px} ({mv}); rates at {y10} say otherwise.",
    )
    reply_unsure = (
        "{name}, macro is neutral for {sym} at {px} ({mv}); a 10y at {y10} is not telling me much.",
        "{name}, {sym} at {px} ({mv}) is noise against the rates picture, no view.",
    )

    def weight(self, quote: Quote, market: MarketSnapshot) -> float:
        return (1.0 + abs(quote.move_sigma) / 2) if quote.symbol in self.universe else 0.0

    def signal(self, quote: Quote, market: MarketSnapshot) -> float:
        tone = market.risk_tone()
        rates = market.us10y_change_bps / 3.0
        trend = 0.15 * trend_strength(quote)
        if quote.symbol == "GOLD":
            return clip(-0.7 * tone - 0.5 * rates + trend)
        if quote.symbol == "EURUSD":
            return clip(-0.6 * rates + 0.3 * tone + trend)
        if quote.asset_class in ("index", "crypto"):
            return clip(tone - 0.3 * rates + trend)
        return clip(trend)

    def reasons(self, quote: Quote, market: MarketSnapshot) -> list[str]:
        return [
            "Dollar {dollar_word} with EURUSD {eur_mv} on the bar.",
            "Rates {rates_word}: 10y {y10chg} to {y10}.",
            "Risk composite {tone}, SPX {spx_mv}, BTC {btc_mv}.",
            "Gold {gold_mv}, {gold_word}.",
        ]

    def extra_fields(self, quote: Quote, market: MarketSnapshot, plan: Plan) -> dict[str, str]:
        tone = market.risk_tone()
        quotes = market.quotes

        def move(symbol: str) -> str:
            other = quotes.get(symbol)
            return signed_pct(other.move_pct, 3 if other.asset_class == "fx" else 2) if other else "n/a"

        eur = quotes.get("EURUSD")
        gold = quotes.get("GOLD")
        change = market.us10y_change_bps
        return {
            "tone": f"{tone:+.2f}",
            "tone_word": band(tone, -0.2, 0.2, ("risk-off", "mixed", "risk-on")),
            "eur": eur.price_text if eur else "n/a",
            "eur_mv": move("EURUSD"),
            "spx_mv": move("SPX"),
            "btc_mv": move("BTC"),
            "gold_mv": move("GOLD"),
            "dollar_word": "bid" if eur and eur.move_pct < 0 else "offered",
            "rates_word": band(change, -0.5, 0.5, ("rallying", "steady", "backing up")),
            "gold_word": "haven demand" if gold and gold.move_pct > 0 and tone < 0 else "no haven bid",
            "side_cap": "Buying" if plan.lean > 0 else "Selling",
        }
