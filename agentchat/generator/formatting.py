"""The shared formatters of the offline voices: numbers, names and bands as a desk writes them.

Pure functions of their arguments, so every voice writes a given number the same way. Everything
they return is plain ASCII with no markup characters, as the voices' text must be (see `writers`).
"""

from __future__ import annotations

import unicodedata

from agentchat.market.books import Position
from agentchat.market.prices import Quote

__all__ = [
    "MAX_NAME_CHARS",
    "amount",
    "ascii_name",
    "band",
    "describe_position",
    "fear_greed_label",
    "signed_amount",
    "signed_pct",
]

MAX_NAME_CHARS = 40


def ascii_name(text: str) -> str:
    """A name folded to printable ASCII, single-spaced, at most MAX_NAME_CHARS long."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    cleaned = "".join(ch if ch.isalnum() or ch in " -.'" else " " for ch in folded)
    return " ".join(cleaned.split())[:MAX_NAME_CHARS].strip()


def signed_pct(value: float, digits: int = 2) -> str:
    rounded = round(value, digits) or 0.0  # no "-0.00%"
    return f"{rounded:+.{digits}f}%"


def amount(value: float) -> str:
    """Notional or P&L the way desks write it: 400k, 1.25m (no currency sign)."""
    size = abs(value)
    if size >= 1_000_000:
        return f"{size / 1_000_000:.2f}".rstrip("0").rstrip(".") + "m"
    if size >= 100_000:
        return f"{size / 1_000:.0f}k"
    if size >= 1_000:
        return f"{size / 1_000:.1f}".rstrip("0").rstrip(".") + "k"
    return f"{size:.0f}"


def signed_amount(value: float) -> str:
    return ("-" if value < 0 else "+") + amount(value)


def band(value: float, low: float, high: float, words: tuple[str, str, str]) -> str:
    """words[0] below `low`, words[2] above `high`, words[1] in between."""
    return words[0] if value < low else words[2] if value > high else words[1]


def describe_position(position: Position, quote: Quote) -> str:
    """'flat', or 'long 450k from 71,234.5'."""
    if not position.direction:
        return "flat"
    side = "long" if position.direction > 0 else "short"
    return f"{side} {amount(position.notional(quote.price))} from {quote.format(position.entry_price)}"


def fear_greed_label(score: int) -> str:
    if score <= 25:
        return "extreme fear"
    if score <= 45:
        return "fear"
    if score < 55:
        return "neutral"
    if score < 75:
        return "greed"
    return "extreme greed"
