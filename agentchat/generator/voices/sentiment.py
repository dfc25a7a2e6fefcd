"""The sentiment voice: social and news flow.

It follows the crowd, and fades it once the tone is past `extreme`: a euphoric or panicked crowd is
usually late.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from agentchat.generator.formatting import band
from agentchat.generator.writers import Plan, Writer, clip, sign
from agentchat.market.prices import MarketSnapshot, Quote

__all__ = ["SentimentWriter"]


class SentimentWriter(Writer):
    """Social and news flow: follows the crowd, fades it at the extremes."""

    strategy = "sentiment"
    extreme: ClassVar[float] = 0.55
    openers = (
        "{sym} chatter {mentions} normal, tone {sent} as price hits {px} ({mv}).",
        "Fear/greed {fg} ({fg_label}); {sym} {px}, {mv}.",
        "Social pulse on {sym} at {px} ({mv}): mentions {mentions} the usual, tone {sent}.",
    )
    actions: ClassVar[Mapping[str, tuple[str, ...]]] = {
        "open": (
            "Opening {long_short} {size} {sym}, {crowd_move}.",
            "{crowd_cap}: {long_short} {size} at {px}.",
        ),
        "add": ("Crowd still building, adding {size}; {pos}.", "Adding {size} while the tone holds, {pos}."),
        "trim": ("Tone is peaking, trimming {size}.", "Taking {size} off before the crowd turns."),
        "close": (
            "Mood flipped, closing the {old_dir}, P&L {pnl}.",
            "Out of the {size} {old_dir}, the narrative is gone. P&L {pnl}.",
        ),
        "hold": ("Holding {pos} while the tone holds.", "Still {pos}, chatter has not turned."),
        "watch": (
            "Leaning {lean_word}, want the mentions to confirm.",
            "Early {lean_word} lean, sizing comes later.",
        ),
        "pass": ("Tone is noise right now, flat.", "No signal in the chatter, staying out."),
    }
    reply_agree = (
        "{name}, social flow backs you on {sym} at {px} ({mv}): tone {sent}, mentions {mentions} normal.",
        "{name}, the crowd is with your {sym} {their_call} at {px} ({mv}); fear/greed {fg}.",
    )
    reply_disagree = (
        "{name}, the crowd is {mood} on {sym} at {px} ({mv}); I would fade your {their_call}.",
        "{name}, {sym} sentiment {sent} does not support your {their_call} at {px} ({mv}).",
    )
    reply_unsure = (
        "{name}, {sym} chatter is flat at {px} ({mv}), nothing in the sentiment either way.",
        "{name}, sentiment on {sym} is split ({sent}) at {px}, {mv}; no read from me.",
    )

    def weight(self, quote: Quote, market: MarketSnapshot) -> float:
        crypto = 1.0 if quote.asset_class == "crypto" else 0.3
        return crypto * (0.3 + 2 * abs(quote.sentiment) + max(0.0, quote.mentions_ratio - 1))

    def signal(self, quote: Quote, market: MarketSnapshot) -> float:
        tone = quote.sentiment
        if abs(tone) > self.extreme:
            return -sign(tone) * clip((abs(tone) - 0.4) * 2.5, 0.0, 1.0)
        buzz = 0.15 * max(0.0, quote.mentions_ratio - 1)
        return clip(tone * 1.6 + sign(tone) * buzz)

    def reasons(self, quote: Quote, market: MarketSnapshot) -> list[str]:
        reasons = [
            "Headlines skew {news_word}.",
            "Mentions at {mentions} after a {mv} bar, {crowd_word}.",
            "Price {updown}, tone {sent}: {divergence}.",
        ]
        if abs(quote.sentiment) > self.extreme:
            reasons.append("The crowd is {mood}; that is usually late.")
        return reasons

    def extra_fields(self, quote: Quote, market: MarketSnapshot, plan: Plan) -> dict[str, str]:
        tone = quote.sentiment
        fading = plan.lean != 0 and plan.lean != sign(tone)
        agrees = sign(quote.move_pct) == sign(tone)
        return {
            "sent": f"{tone:+.2f}",
            "mentions": f"{quote.mentions_ratio:.1f}x",
            "news_word": band(tone, -0.15, 0.15, ("bearish", "mixed", "bullish")),
            "crowd_word": "attention is building" if quote.mentions_ratio > 1.3 else "nobody cares yet",
            "divergence": "they agree" if agrees else "they disagree, which rarely lasts",
            "mood": _mood(tone, self.extreme),
            "crowd_move": "fading the crowd" if fading else "going with the crowd",
            "crowd_cap": "Fading the crowd" if fading else "With the crowd",
        }


def _mood(tone: float, extreme: float) -> str:
    if tone > extreme:
        return "euphoric"
    if tone < -extreme:
        return "panicked"
    if abs(tone) > 0.1:
        return "leaning bullish" if tone > 0 else "leaning bearish"
    return "undecided"
