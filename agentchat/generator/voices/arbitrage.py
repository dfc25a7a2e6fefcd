"""The arbitrage voice: basis and venue spreads, and the carry it puts on.

Its position is the spot leg of a hedged carry, never a view: it opens only when the basis pays more
than the round-trip fees (by 1.5 bps), and closes when the basis has converged or flipped, whatever the trend.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from agentchat.generator.formatting import amount, band
from agentchat.generator.writers import MAX_NOTIONAL, Context, Plan, Writer, clip, sign
from agentchat.market.prices import MarketSnapshot, Quote

__all__ = ["ArbitrageWriter"]


class ArbitrageWriter(Writer):
    """Basis and venue spreads; positions are the spot leg of a hedged carry, never a view."""

    strategy = "arbitrage"
    rule: ClassVar[Mapping[str, str]] = {
        "signal": "the perp-over-spot basis beyond the round-trip fees, in steps of 8 bps, -1 .. +1",
        "open": "flat and more than 1.5 bps of edge after fees",
        "size": "ticket notional from the edge over 10 bps (the shared ticket rule), in the basis' direction",
        "add": f"more than 8 bps of edge, up to {MAX_NOTIONAL:,.0f} notional",
        "close": "the basis has converged inside the unwind band",
    }
    fees_bps: ClassVar[float] = 4.0
    converged_bps: ClassVar[float] = 2.0
    openers = (
        "{sym} {deriv} {basis_rel} at {px} ({mv} on the bar).",
        "{sym} spot {px}, {mv}; {deriv} basis {basis} bps, venue gap {gap} bps.",
        "Basis check on {sym} at {px} ({mv}): the {deriv} is {basis_rel}.",
    )
    actions: ClassVar[Mapping[str, tuple[str, ...]]] = {
        "open": (
            "Opening {legs}, {size} a leg.",
            "Putting on {legs} for {size}, locking about {edge} bps.",
            "Starting a {size} carry: {legs}.",
        ),
        "add": ("Basis widened, adding {size} a leg, {legs}.", "Scaling the carry by {size}, same legs."),
        "trim": ("Trimming {size} of the carry.", "Taking {size} a leg off, basis is fading."),
        "close": (
            "Basis {close_note}, unwinding both legs, {size} a leg.",
            "Taking the carry off, {size} a leg: basis {close_note}.",
        ),
        "hold": ("Carry stays on, nothing to do until the basis moves.", "Holding the carry, {pos}."),
        "watch": (
            "Close to tradeable; would need {need} bps to bother.",
            "Watching it, the edge is thin after costs.",
        ),
        "pass": ("No trade, edge is inside costs.", "Nothing to lock in, standing aside."),
    }
    reply_agree = (
        "{name}, agree on {sym}: {px} ({mv}) and the {deriv} {basis_rel} back your {their_call}.",
        "{name} is right on {sym}. Spot {px} ({mv}), and the {deriv} basis leans the same way.",
    )
    reply_disagree = (
        "{name}, careful on {sym}: at {px} ({mv}) the {deriv} is {basis_rel}; your {their_call} is crowded.",
        "Not with {name} on {sym}. The {deriv} is {basis_rel} at {px} ({mv}); I would take the other side.",
    )
    reply_unsure = (
        "{name}, no view on {sym} direction from me; at {px} ({mv}) I only see the {deriv} {basis_rel}.",
        "{name}, {sym} at {px} is a basis trade for me, not a direction call. {mv} on the bar.",
    )
    positioned_confidence_lines = (
        "Confidence {conf}, unwind once the basis is back inside {unwind} bps.",
        "Confidence {conf}; legging risk {leg_risk}.",
    )
    book_lines = ("Carry on since {entry}, {pos_size} a leg.", "Carry book: {pos_size} a leg since {entry}.")

    def weight(self, quote: Quote, market: MarketSnapshot) -> float:
        edge = max(abs(quote.basis_bps), abs(quote.venue_gap_bps)) - self.fees_bps
        return 0.4 + max(0.0, edge) / 3 + (0.5 if quote.asset_class == "crypto" else 0.0)

    def signal(self, quote: Quote, market: MarketSnapshot) -> float:
        edge = abs(quote.basis_bps) - self.fees_bps
        return sign(quote.basis_bps) * clip(edge / 8, 0.0, 1.0) if edge > 0 else 0.0

    def plan(self, ctx: Context, quote: Quote, signal: float) -> Plan:
        position = ctx.position(quote.symbol)
        edge = abs(quote.basis_bps) - self.fees_bps
        confidence = self.confidence(clip(abs(edge) / 20, 0.0, 1.0), ctx.rng)
        held = position.direction
        if held == 0:
            if edge > 1.5:
                ticket = self.ticket_notional(clip(edge / 10, 0.0, 1.0)) / quote.price
                return Plan.traded("open", confidence, position, sign(quote.basis_bps) * ticket, quote)
            return Plan("watch" if edge > -1.5 else "pass", 0, confidence, position)
        if quote.basis_bps * held < self.converged_bps:
            return Plan.traded("close", confidence, position, -position.quantity, quote)
        if edge > 8 and position.notional(quote.price) + 150_000 <= MAX_NOTIONAL:
            ticket = self.ticket_notional(0.3) / quote.price
            return Plan.traded("add", confidence, position, held * ticket, quote)
        return Plan("hold", held, confidence, position)

    def reasons(self, quote: Quote, market: MarketSnapshot) -> list[str]:
        edge = abs(quote.basis_bps) - self.fees_bps
        reasons = [
            "After {fees} bps round-trip fees that is {edge} bps of edge."
            if edge > 0
            else "Inside the {fees} bps fee band, so no edge after costs.",
            "Second venue is {gap} bps vs the first, {gap_note}.",
            "Vol {volx} normal, so legging risk is {leg_risk}.",
        ]
        if quote.funding_pct_8h is not None:
            reasons.append("Funding {funding} per 8h, {funding_ann} annualized, {funding_side}.")
        return reasons

    def extra_fields(self, quote: Quote, market: MarketSnapshot, plan: Plan) -> dict[str, str]:
        deriv = "perp" if quote.asset_class == "crypto" else "future"
        basis = quote.basis_bps
        lean = plan.lean or sign(basis)
        funding = quote.funding_pct_8h or 0.0
        fields = {
            "deriv": deriv,
            "basis": f"{basis:+.1f}",
            "basis_rel": f"{abs(basis):.1f} bps {'over' if basis >= 0 else 'under'} spot",
            "gap": f"{quote.venue_gap_bps:+.1f}",
            "gap_note": "too thin to cross" if abs(quote.venue_gap_bps) < self.fees_bps else "worth crossing",
            "fees": f"{self.fees_bps:.0f}",
            "edge": f"{max(0.0, abs(basis) - self.fees_bps):.1f}",
            "need": f"{self.fees_bps + 1.5:.1f}",
            "legs": f"long spot / short {deriv}" if lean > 0 else f"short spot / long {deriv}",
            "leg_risk": band(quote.vol_ratio, 0.9, 1.6, ("low", "moderate", "high")),
            "unwind": f"{self.converged_bps:.1f}",
            "funding": f"{funding:+.4f}%",
            "funding_ann": f"{funding * 3 * 365:+.1f}%",
            "funding_side": "longs paying shorts" if funding >= 0 else "shorts paying longs",
            "pos_size": amount(plan.after.notional(quote.price)),
            "close_note": "converged" if abs(basis) < self.converged_bps else f"flipped to {basis:+.1f} bps",
        }
        if plan.after.direction:
            entry = quote.format(plan.after.entry_price)
            fields["pos"] = f"{fields['pos_size']} a leg since {entry}"
        return fields
