"""One voice per strategy, and `writer_for`, which picks the one an agent speaks with.

Each module here is one strategy's `Writer` subclass: its eye for symbols, its signal, its plan
where it differs from the directional default, and its vocabulary. The engine they share (composing,
fitting to length, the fields every template can use) is `agentchat.generator.writers`; the number
formats are `agentchat.generator.formatting`. A strategy with no module here gets the plain voice,
`GENERIC_WRITER`, so a roster file may name any strategy.
"""

from __future__ import annotations

from collections.abc import Mapping

from agentchat.generator.voices.arbitrage import ArbitrageWriter
from agentchat.generator.voices.macro import MacroWriter
from agentchat.generator.voices.market_making import MarketMakingWriter
from agentchat.generator.voices.mean_reversion import MeanReversionWriter
from agentchat.generator.voices.momentum import MomentumWriter
from agentchat.generator.voices.sentiment import SentimentWriter
from agentchat.generator.writers import Writer

__all__ = [
    "GENERIC_WRITER",
    "WRITERS",
    "ArbitrageWriter",
    "MacroWriter",
    "MarketMakingWriter",
    "MeanReversionWriter",
    "MomentumWriter",
    "SentimentWriter",
    "writer_for",
]

WRITERS: Mapping[str, Writer] = {
    writer.strategy: writer
    for writer in (
        ArbitrageWriter(),
        MomentumWriter(),
        MeanReversionWriter(),
        MarketMakingWriter(),
        MacroWriter(),
        SentimentWriter(),
    )
}
GENERIC_WRITER = Writer()


def writer_for(strategy: str) -> Writer:
    """The strategy's writer, or the plain voice for a strategy this package does not know."""
    return WRITERS.get(strategy, GENERIC_WRITER)
