"""The market-making voice: spreads, order flow and inventory.

Its fills come from the flow (buyers lift its offers, so it sells into buying), and inventory over
its limit is worked back down; it never takes a view of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from agentchat.generator.formatting import band
from agentchat.generator.writers import Context, Plan, Writer, clip, sign
from agentchat.market.prices import MarketSnapshot, Quote

__all__ = ["MarketMakingWriter"]


class MarketMakingWriter(Writer):
    """Spreads, flow and inventory: fills come from the flow, and inventory is worked back down."""

    strategy = "market_making"
    rule: ClassVar[Mapping[str, str]] = {
        "signal": "the order-flow imbalance, -1 all sellers .. +1 all buyers",
        "fill": "|flow| > 0.25: 50,000 x round((100,000 + 400,000 x |flow|) / 50,000) notional against the flow",
        "unload": "half the inventory once it is over the inventory limit",
    }
    inventory_limit: ClassVar[float] = 1_000_000.0
    openers = (
        "Quoting {sym} {bid} / {ask}, {spread} bps wide, mid {px} ({mv}).",
        "{sym} mid {px}, {mv}; running {spread} bps around it.",
        "Making {sym}: {bid} bid, {ask} offered, last {px} ({mv}).",
    )
    actions: ClassVar[Mapping[str, tuple[str, ...]]] = {
        "filled": (
            "Got {lifted_hit} for {size} {into}; inventory now {pos}.",
            "{bid_or_offer} for {size} {into}, leaves me {pos}.",
        ),
        "unload": (
            "Inventory too heavy, {side_word} {size} back into the market; now {pos}.",
            "Working inventory down: {side_word} {size}, {pos} left.",
        ),
        "quote": ("No fills worth noting, inventory {pos}.", "Quotes holding, inventory {pos}."),
    }
    reply_agree = (
        "{name}, the {sym} flow agrees: {flow_pct} through my quotes at {px} ({mv}).",
        "{name}, my {sym} book backs your {their_call}, {flow_pct} around {px}, {mv} on the bar.",
    )
    reply_disagree = (
        "{name}, not what I see in {sym}: {flow_pct} on my book at {px}, {mv} on the bar.",
        "{name}, {sym} flow runs against your {their_call}: {flow_pct} at {px} ({mv}).",
    )
    reply_unsure = (
        "{name}, {sym} flow is two-way on my side at {px} ({mv}); nothing to add to your {their_call}.",
        "{name}, balanced {sym} flow here at {px} ({mv}), {flow_pct}.",
    )
    positioned_confidence_lines = (
        "Confidence {conf}, skewing quotes {skew_dir} {skew} bps.",
        "Confidence {conf}; skew {skew_dir} {skew} bps until inventory is flat.",
    )
    book_lines = ("Inventory marked {upnl}.", "Inventory {pos}, {upnl} on the mark.")

    def weight(self, quote: Quote, market: MarketSnapshot) -> float:
        crypto = 0.4 if quote.asset_class == "crypto" else 0.0
        return 0.4 + quote.vol_ratio / 2 + abs(quote.flow_imbalance) + crypto

    def signal(self, quote: Quote, market: MarketSnapshot) -> float:
        return quote.flow_imbalance

    def plan(self, ctx: Context, quote: Quote, signal: float) -> Plan:
        position = ctx.position(quote.symbol)
        flow = quote.flow_imbalance
        confidence = self.confidence(clip(0.3 + abs(flow) / 2, 0.0, 1.0), ctx.rng)
        if position.notional(quote.price) > self.inventory_limit:
            return Plan.traded("unload", confidence, position, -position.quantity / 2, quote)
        if abs(flow) > 0.25 and ctx.rng.random() < 0.7:
            notional = 50_000 * round((100_000 + 400_000 * abs(flow)) / 50_000)
            quantity = -sign(flow) * notional / quote.price  # buyers lift our offers: we sell
            return Plan.traded("filled", confidence, position, quantity, quote)
        return Plan("quote", -position.direction, confidence, position)

    def reasons(self, quote: Quote, market: MarketSnapshot) -> list[str]:
        return [
            "Flow is {flow_word} ({flow_pct}).",
            "Vol {volx} normal, so spreads are {spread_word}.",
            "Regime {regime}, quoting size {size_word}.",
        ]

    def extra_fields(self, quote: Quote, market: MarketSnapshot, plan: Plan) -> dict[str, str]:
        half = quote.price * quote.spread_bps / 20_000
        flow = quote.flow_imbalance
        buyers = round((1 + flow) * 50)
        return {
            "bid": quote.format(quote.price - half),
            "ask": quote.format(quote.price + half),
            "spread": f"{quote.spread_bps:.1f}",
            "flow_pct": f"{buyers}% buyers" if buyers >= 50 else f"{100 - buyers}% sellers",
            "flow_word": band(flow, -0.4, 0.4, ("mostly sellers", "two-way", "one-way buying")),
            "spread_word": band(quote.vol_ratio, 0.8, 1.4, ("tight", "normal", "wide")),
            "size_word": "cut" if market.regime == "stressed" else "full",
            "lifted_hit": "lifted" if plan.lean < 0 else "hit",
            "bid_or_offer": "Offer lifted" if plan.lean < 0 else "Bid hit",
            "into": band(quote.move_pct, 0.0, 0.0, ("into the dip", "on the print", "into the rally")),
            "skew_dir": "down" if plan.after.direction > 0 else "up",
            "skew": f"{max(0.5, quote.spread_bps / 3):.1f}",
        }
