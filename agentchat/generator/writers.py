"""A voice per strategy: how an agent turns the market and its own book into a chat line.

A message is composed, not picked: an opener, one or two reasons, an action and a confidence clause,
each chosen from a few fragments of that strategy's vocabulary and filled with numbers from the
`MarketSnapshot` and the agent's position. Fragments are templates over one dict of pre-formatted
strings (`Writer.fields`), so every number is formatted in one place and a price in the text is always
`Quote.price_text`, the same value as `meta.price`.

Writers are stateless: they only *propose* a trade (`Trade`, with the position it leaves); the
generator books it. Each strategy overrides a few hooks of `Writer` (which symbol it looks at, its
signal, its reasons, its vocabulary); anything else, including an unknown strategy, gets the plain
`Writer` voice.

Text is plain ASCII with no markup characters (no `$`, `*`, `_`, `#`, `<`, `>`, backticks or
tildes), because dashboards may render it through markdown. Names of other agents come from a
roster file, so they are folded to ASCII and shortened before they are quoted.
"""

from __future__ import annotations

import math
import random
import string
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from agentchat.agents import Agent
from agentchat.generator.market import SLOW_BARS, MarketSnapshot, Position, Quote
from agentchat.message import Message, MessageKind

Side = Literal["buy", "sell"]
Action = Literal["open", "add", "trim", "close", "hold", "watch", "pass", "filled", "unload", "quote"]

ALERT_SIGMA = 3.0  # a bar this many normal sigmas long is an alert
MIN_CONTENT_CHARS = 80
MAX_CONTENT_CHARS = 400
MAX_NAME_CHARS = 40
_OPEN_SIGNAL = 0.45
_LEAN_SIGNAL = 0.2
_MAX_NOTIONAL = 1_500_000.0


@dataclass(frozen=True, slots=True)
class Context:
    """What a writer may look at for one agent in one round."""

    agent: Agent
    market: MarketSnapshot
    positions: Mapping[str, Position]
    rng: random.Random

    def position(self, symbol: str) -> Position:
        return self.positions.get(symbol, Position())


@dataclass(frozen=True, slots=True)
class ReplyTarget:
    """Another agent's message worth answering, reduced to what a reply needs."""

    message_id: int
    author: str
    symbol: str
    direction: int  # +1 they lean buy, -1 sell, 0 no side
    kind: str

    @classmethod
    def from_message(cls, message: Message, symbols: Sequence[str]) -> ReplyTarget | None:
        """None when the message names no symbol this market trades."""
        symbol = message.meta.get("symbol")
        if not isinstance(symbol, str) or symbol not in symbols:
            return None
        side = message.meta.get("side")
        direction = 1 if side == "buy" else -1 if side == "sell" else 0
        author = ascii_name(message.agent_name) or ascii_name(message.agent_id) or "that desk"
        return cls(message.id, author, symbol, direction, message.kind)


@dataclass(frozen=True, slots=True)
class Trade:
    """A fill the writer proposes; `after` and `realized_pnl` come from `Position.after_fill`."""

    side: Side
    quantity: float  # units, always positive
    price: float
    after: Position
    realized_pnl: float


@dataclass(frozen=True, slots=True)
class Plan:
    """What the agent does about one symbol this round, and the position it leaves."""

    action: Action
    lean: int  # side of the trade, or of the view when there is no trade; 0 = none
    confidence: float
    after: Position
    trade: Trade | None = None

    @classmethod
    def traded(cls, action: Action, confidence: float, position: Position, quantity: float, quote: Quote) -> Plan:
        """A plan that trades `quantity` (signed units) at the quote's price."""
        after, realized = position.after_fill(quantity, quote.price)
        trade = Trade("buy" if quantity > 0 else "sell", abs(quantity), quote.price, after, realized)
        return cls(action, _sign(quantity), confidence, after, trade)


@dataclass(frozen=True, slots=True)
class Post:
    """A writer's finished message, before it becomes a `Draft`."""

    kind: MessageKind
    symbol: str
    side: Side | None
    price: float
    confidence: float
    content: str
    reply_to: int | None = None
    trade: Trade | None = None

    def meta(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol,
            "side": self.side,
            "price": self.price,
            "confidence": self.confidence,
            "reply_to": self.reply_to,
        }


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


def side_of(direction: int) -> Side | None:
    return "buy" if direction > 0 else "sell" if direction < 0 else None


def _sign(value: float) -> int:
    return (value > 0) - (value < 0)


def _band(value: float, low: float, high: float, words: tuple[str, str, str]) -> str:
    """words[0] below `low`, words[2] above `high`, words[1] in between."""
    return words[0] if value < low else words[2] if value > high else words[1]


def _clip(value: float, low: float = -1.0, high: float = 1.0) -> float:
    return max(low, min(high, value))


def trend_strength(quote: Quote) -> float:
    """Fast MA over slow MA, in bar sigmas: positive = uptrend."""
    return (quote.ma_fast / quote.ma_slow - 1) * 100 / max(quote.sigma_pct, 1e-9)


def breakout(quote: Quote) -> int:
    return 1 if quote.price > quote.range_high else -1 if quote.price < quote.range_low else 0


class Writer:
    """The plain voice, and the composition every strategy shares.

    Subclasses override the hooks: `weight` (which symbol catches its eye), `signal` (-1 sell .. +1
    buy), `reasons` (templates that explain the signal), `extra_fields`, `plan` (where entries or
    exits differ from the directional default) and the template tuples.
    """

    strategy: ClassVar[str] = "generic"
    openers: ClassVar[tuple[str, ...]] = (
        "{sym} {px} ({mv}), 8/24-bar MAs {maf} / {mas}.",
        "Looking at {sym}: {px}, {mv} on the bar, vol {volx} normal.",
        "{sym} last {px}, {mv} on the bar, {chg} over {slow} bars.",
    )
    alert_openers: ClassVar[tuple[str, ...]] = (
        "Alert: {sym} {mv} in one bar to {px}, a {sig} sigma move.",
        "{sym} just moved {mv} to {px}, {sig} sigma against normal vol.",
        "Heads up, {sym} {mv} in a single bar, now {px} ({sig} sigma).",
    )
    actions: ClassVar[Mapping[str, tuple[str, ...]]] = {
        "open": ("Opening {long_short} {size} at {px}.", "Starting a {size} {long_short} here."),
        "add": ("Adding {size}, now {pos}.", "Adding to it: {size} more, {pos}."),
        "trim": ("Trimming {size}, {pos} left.", "Taking {size} off, still {pos}."),
        "close": (
            "Closing the {size} {old_dir}, P&L {pnl}.",
            "Out of the {old_dir}, {size} at {px}, P&L {pnl}.",
        ),
        "hold": ("Holding {pos}.", "No change, still {pos}."),
        "watch": (
            "Leaning {lean_word}, no position yet.",
            "Slight {lean_word} lean, waiting for a better level.",
        ),
        "pass": ("No edge, staying flat.", "Nothing to do here, flat."),
    }
    reply_agree: ClassVar[tuple[str, ...]] = (
        "{name}, agree on {sym}: {px} ({mv}) fits your {their_call}.",
        "With {name} on {sym}, {px} and {mv} on the bar point the same way for me.",
    )
    reply_disagree: ClassVar[tuple[str, ...]] = (
        "{name}, I read {sym} the other way at {px} ({mv}).",
        "Not convinced by {name}'s {sym} {their_call}; {px}, {mv} on the bar.",
    )
    reply_unsure: ClassVar[tuple[str, ...]] = (
        "{name}, no strong view on {sym} from me at {px} ({mv}).",
        "{name}, {sym} at {px} ({mv}) looks like a coin flip to me.",
    )
    confidence_lines: ClassVar[tuple[str, ...]] = (
        "Confidence {conf}.",
        "Conviction {conf}.",
        "Confidence {conf} on this read.",
    )
    positioned_confidence_lines: ClassVar[tuple[str, ...]] = (
        "Confidence {conf}, stop {stop}.",
        "Conviction {conf}; out {stop_rel} {stop}.",
        "Confidence {conf}, invalidation at {stop}.",
    )
    book_lines: ClassVar[tuple[str, ...]] = (
        "Book: {pos}, {upnl} open.",
        "Running {pos}, {upnl} on it.",
    )
    stance_lines: ClassVar[tuple[str, ...]] = (
        "I am {pos} there myself.",
        "My book: {pos}.",
    )
    flat_stance_lines: ClassVar[tuple[str, ...]] = (
        "Flat there myself.",
        "No position on my side.",
    )

    # Hooks -------------------------------------------------------------------------------------

    def weight(self, quote: Quote, market: MarketSnapshot) -> float:
        """How much this symbol catches the strategy's eye (before the shared boosts)."""
        return 1.0 + abs(quote.move_sigma)

    def signal(self, quote: Quote, market: MarketSnapshot) -> float:
        return math.tanh(0.5 * trend_strength(quote) + 0.3 * quote.move_sigma)

    def reasons(self, quote: Quote, market: MarketSnapshot) -> list[str]:
        return [
            "Trend {trend_word}, z {z} against the 24-bar mean.",
            "24-bar range {lo} to {hi}.",
            "Realized vol {rvol} annualized.",
        ]

    def extra_fields(self, quote: Quote, market: MarketSnapshot, plan: Plan) -> dict[str, str]:
        return {}

    def ticket_notional(self, strength: float) -> float:
        return 50_000 * round((150_000 + 450_000 * strength) / 50_000)

    def plan(self, ctx: Context, quote: Quote, signal: float) -> Plan:
        """Directional policy: open on a strong signal, add, trim winners, close on reversal or stop."""
        position = ctx.position(quote.symbol)
        strength = abs(signal)
        lean = _sign(signal) if strength >= _LEAN_SIGNAL else 0
        confidence = self.confidence(strength, ctx.rng)
        held = position.direction
        if held == 0:
            if strength >= _OPEN_SIGNAL:
                ticket = self.ticket_notional(strength) / quote.price
                return Plan.traded("open", confidence, position, lean * ticket, quote)
            return Plan("watch" if lean else "pass", lean, confidence, position)
        aligned = signal * held
        pnl_pct = position.pnl_pct(quote.price)
        normal_bar_pct = quote.sigma_pct / max(quote.vol_ratio, 1e-9)
        if aligned <= -0.3 or pnl_pct <= -6 * normal_bar_pct:
            return Plan.traded("close", confidence, position, -position.quantity, quote)
        if aligned >= 0.6 and position.notional(quote.price) + 150_000 <= _MAX_NOTIONAL:
            ticket = self.ticket_notional(strength * 0.5) / quote.price
            return Plan.traded("add", confidence, position, held * ticket, quote)
        if pnl_pct >= 8 * normal_bar_pct and aligned < 0.3:
            return Plan.traded("trim", confidence, position, -position.quantity / 2, quote)
        return Plan("hold", held, confidence, position)

    # Composition -------------------------------------------------------------------------------

    def write(self, ctx: Context) -> Post:
        """A message about the symbol this strategy cares most about this round."""
        quote = ctx.market.quotes[self.pick_symbol(ctx)]
        signal = self.signal(quote, ctx.market)
        plan = self.plan(ctx, quote, signal)
        fields = self.fields(ctx, quote, plan)
        rng = ctx.rng
        violent = abs(quote.move_sigma) >= ALERT_SIGMA
        kind: MessageKind = "alert" if violent else "trade" if plan.trade else "analysis"
        opener = rng.choice(self.alert_openers if violent else self.openers)
        action = rng.choice(self._action_templates(plan))
        reasons = _not_repeating(self.reasons(quote, ctx.market), opener, action)
        rng.shuffle(reasons)
        after = plan.after
        optional = reasons[: rng.choice((1, 2, 2))]
        held_before = ctx.position(quote.symbol).direction
        if held_before and after.direction and "{pos}" not in action and rng.random() < 0.5:
            optional.append(rng.choice(self.book_lines))
        closing = rng.choice(self.positioned_confidence_lines if after.direction else self.confidence_lines)
        parts = [opener, *optional, action, closing]
        content = self._fit(parts, required={0, len(parts) - 2, len(parts) - 1}, extra=reasons, fields=fields)
        return Post(
            kind=kind,
            symbol=quote.symbol,
            side=side_of(plan.lean),
            price=quote.price,
            confidence=plan.confidence,
            content=content,
            trade=plan.trade,
        )

    def reply(self, ctx: Context, target: ReplyTarget) -> Post:
        """An answer to another agent's call, agreeing or not according to this strategy's signal."""
        quote = ctx.market.quotes[target.symbol]
        signal = self.signal(quote, ctx.market)
        lean = _sign(signal) if abs(signal) >= _LEAN_SIGNAL else 0
        position = ctx.position(quote.symbol)
        plan = Plan("hold", lean, self.confidence(abs(signal), ctx.rng), position)
        fields = self.fields(ctx, quote, plan)
        fields["name"] = target.author
        fields["their_call"] = {1: "long call", -1: "short call"}.get(target.direction, "call")
        if target.kind == "alert":
            fields["their_call"] = "alert"
        rng = ctx.rng
        if lean and target.direction:
            opener = rng.choice(self.reply_agree if lean == target.direction else self.reply_disagree)
        else:
            opener = rng.choice(self.reply_unsure)
        reasons = _not_repeating(self.reasons(quote, ctx.market), opener)
        rng.shuffle(reasons)
        stance = rng.choice(self.stance_lines if position.direction else self.flat_stance_lines)
        closing = rng.choice(self.confidence_lines)
        parts = [opener, reasons[0], stance, closing]
        content = self._fit(parts, required={0, 3}, extra=reasons[1:], fields=fields)
        return Post(
            kind="reply",
            symbol=quote.symbol,
            side=side_of(lean),
            price=quote.price,
            confidence=plan.confidence,
            content=content,
            reply_to=target.message_id,
        )

    def _action_templates(self, plan: Plan) -> tuple[str, ...]:
        """The templates for the plan's action; a losing close has its own where a voice defines one."""
        if plan.action == "close" and plan.trade and plan.trade.realized_pnl < 0:
            return self.actions.get("close_loss", self.actions["close"])
        return self.actions[plan.action]

    def pick_symbol(self, ctx: Context) -> str:
        symbols = list(ctx.market.symbols)
        weights = []
        for symbol in symbols:
            quote = ctx.market.quotes[symbol]
            weight = max(0.0, self.weight(quote, ctx.market))
            if abs(quote.move_sigma) >= ALERT_SIGMA:
                weight += 3.0
            if ctx.position(symbol).direction:
                weight = weight * 1.8 + 0.3
            weights.append(weight)
        if sum(weights) <= 0:
            return ctx.rng.choice(symbols)
        return ctx.rng.choices(symbols, weights=weights)[0]

    @staticmethod
    def confidence(strength: float, rng: random.Random) -> float:
        return round(_clip(0.3 + 0.6 * strength + rng.gauss(0.0, 0.04), 0.05, 0.97), 2)

    def fields(self, ctx: Context, quote: Quote, plan: Plan) -> dict[str, str]:
        market = ctx.market
        before = ctx.position(quote.symbol)
        after = plan.after
        held = after.direction or before.direction
        stop_distance = max(4 * quote.sigma_pct / max(quote.vol_ratio, 1e-9), 0.15) / 100
        trend = trend_strength(quote)
        fear_greed = market.fear_greed()
        fields: dict[str, str] = dict(
            sym=quote.symbol,
            px=quote.price_text,
            mv=signed_pct(quote.move_pct, 3 if quote.asset_class == "fx" else 2),
            updown=_band(quote.move_pct, 0.0, 0.0, ("down", "flat", "up")),
            sig=f"{abs(quote.move_sigma):.1f}",
            volx=f"{quote.vol_ratio:.1f}x",
            rvol=f"{quote.realized_vol_pct:.0f}%",
            maf=quote.format(quote.ma_fast),
            mas=quote.format(quote.ma_slow),
            z=f"{quote.zscore:+.1f}",
            hi=quote.format(quote.range_high),
            lo=quote.format(quote.range_low),
            chg=signed_pct(quote.window_change_pct),
            slow=str(SLOW_BARS),
            trend_word=_band(trend, -0.3, 0.3, ("down", "flat", "up")),
            regime=market.regime,
            y10=f"{market.us10y_pct:.2f}%",
            y10chg=f"{market.us10y_change_bps:+.1f}bp",
            fg=str(fear_greed),
            fg_label=_fear_greed_label(fear_greed),
            conf=f"{plan.confidence:.2f}",
            lean_word="long" if plan.lean > 0 else "short" if plan.lean < 0 else "neutral",
            long_short="long" if plan.lean > 0 else "short",
            side_word="buying" if plan.lean > 0 else "selling",
            old_dir="long" if before.direction > 0 else "short",
            size=amount(plan.trade.quantity * quote.price if plan.trade else before.notional(quote.price)),
            pos=_describe(after, quote),
            upnl=signed_amount(after.unrealized_pnl(quote.price)),
            pnl=signed_amount(plan.trade.realized_pnl) if plan.trade else "+0",
            entry=quote.format(after.entry_price or quote.price),
            stop=quote.format(quote.price * (1 - held * stop_distance)),
            stop_rel="below" if held >= 0 else "above",
        )
        fields.update(self.extra_fields(quote, market, plan))
        return fields

    def _fit(self, parts: list[str], required: set[int], extra: list[str], fields: dict[str, str]) -> str:
        """Join the parts; drop optional ones while too long, add spare reasons while too short."""
        texts = [part.format_map(fields) for part in parts]
        keep = list(range(len(texts)))
        for index in reversed(range(len(texts))):
            if len(" ".join(texts[i] for i in keep)) <= MAX_CONTENT_CHARS:
                break
            if index not in required:
                keep.remove(index)
        content = " ".join(texts[i] for i in keep)
        spare = [reason.format_map(fields) for reason in extra if reason not in parts]
        while len(content) < MIN_CONTENT_CHARS and spare:
            content = f"{content} {spare.pop(0)}"
        return content[:MAX_CONTENT_CHARS]


_COMMON_FIELDS = frozenset({"sym", "px", "mv", "slow"})


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def _not_repeating(reasons: list[str], *used: str) -> list[str]:
    """The reasons that quote no number already in `used` (symbol, price and move excepted)."""
    taken = set().union(*(_placeholders(template) for template in used)) - _COMMON_FIELDS
    fresh = [reason for reason in reasons if not _placeholders(reason) & taken]
    return fresh or reasons[:1]


def _describe(position: Position, quote: Quote) -> str:
    if not position.direction:
        return "flat"
    side = "long" if position.direction > 0 else "short"
    return f"{side} {amount(position.notional(quote.price))} from {quote.format(position.entry_price)}"


def _fear_greed_label(score: int) -> str:
    if score <= 25:
        return "extreme fear"
    if score <= 45:
        return "fear"
    if score < 55:
        return "neutral"
    if score < 75:
        return "greed"
    return "extreme greed"


class ArbitrageWriter(Writer):
    """Basis and venue spreads; positions are the spot leg of a hedged carry, never a view."""

    strategy = "arbitrage"
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
        return _sign(quote.basis_bps) * _clip(edge / 8, 0.0, 1.0) if edge > 0 else 0.0

    def plan(self, ctx: Context, quote: Quote, signal: float) -> Plan:
        position = ctx.position(quote.symbol)
        edge = abs(quote.basis_bps) - self.fees_bps
        confidence = self.confidence(_clip(abs(edge) / 20, 0.0, 1.0), ctx.rng)
        held = position.direction
        if held == 0:
            if edge > 1.5:
                ticket = self.ticket_notional(_clip(edge / 10, 0.0, 1.0)) / quote.price
                return Plan.traded("open", confidence, position, _sign(quote.basis_bps) * ticket, quote)
            return Plan("watch" if edge > -1.5 else "pass", 0, confidence, position)
        if quote.basis_bps * held < self.converged_bps:
            return Plan.traded("close", confidence, position, -position.quantity, quote)
        if edge > 8 and position.notional(quote.price) + 150_000 <= _MAX_NOTIONAL:
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
        lean = plan.lean or _sign(basis)
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
            "leg_risk": _band(quote.vol_ratio, 0.9, 1.6, ("low", "moderate", "high")),
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
        lean = plan.lean or _sign(trend_strength(quote))
        return {
            "ma_cmp": "above" if quote.ma_fast >= quote.ma_slow else "below",
            "vol_word": _band(quote.vol_ratio, 0.8, 1.3, ("quiet", "normal", "expanding")),
            "side_cap": "Buying" if plan.lean > 0 else "Selling",
            "break_word": {1: "breakout", -1: "breakdown"}.get(breakout(quote), "trend"),
            "trigger": quote.format(quote.range_high if lean >= 0 else quote.range_low),
        }


class MeanReversionWriter(Writer):
    """Z-scores against the 24-bar mean: fades stretched moves, takes profit at the mean."""

    strategy = "mean_reversion"
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
        return -_sign(quote.zscore) * _clip(excess, 0.0, 1.0)

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
        extending = _sign(quote.move_pct) == _sign(quote.zscore)
        lean = plan.lean or -_sign(quote.zscore)
        return {
            "band": quote.format(quote.window_std),
            "bar_note": "extending the stretch" if extending else "already leaning back to the mean",
            "trigger": quote.format(quote.ma_slow - lean * 2 * quote.window_std),
        }


class MarketMakingWriter(Writer):
    """Spreads, flow and inventory: fills come from the flow, and inventory is worked back down."""

    strategy = "market_making"
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
        confidence = self.confidence(_clip(0.3 + abs(flow) / 2, 0.0, 1.0), ctx.rng)
        if position.notional(quote.price) > self.inventory_limit:
            return Plan.traded("unload", confidence, position, -position.quantity / 2, quote)
        if abs(flow) > 0.25 and ctx.rng.random() < 0.7:
            notional = 50_000 * round((100_000 + 400_000 * abs(flow)) / 50_000)
            quantity = -_sign(flow) * notional / quote.price  # buyers lift our offers: we sell
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
            "flow_word": _band(flow, -0.4, 0.4, ("mostly sellers", "two-way", "one-way buying")),
            "spread_word": _band(quote.vol_ratio, 0.8, 1.4, ("tight", "normal", "wide")),
            "size_word": "cut" if market.regime == "stressed" else "full",
            "lifted_hit": "lifted" if plan.lean < 0 else "hit",
            "bid_or_offer": "Offer lifted" if plan.lean < 0 else "Bid hit",
            "into": _band(quote.move_pct, 0.0, 0.0, ("into the dip", "on the print", "into the rally")),
            "skew_dir": "down" if plan.after.direction > 0 else "up",
            "skew": f"{max(0.5, quote.spread_bps / 3):.1f}",
        }


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
            "Putting on {size} {long_short} {sym}; the backdrop supports it.",
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
            return _clip(-0.7 * tone - 0.5 * rates + trend)
        if quote.symbol == "EURUSD":
            return _clip(-0.6 * rates + 0.3 * tone + trend)
        if quote.asset_class in ("index", "crypto"):
            return _clip(tone - 0.3 * rates + trend)
        return _clip(trend)

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
            "tone_word": _band(tone, -0.2, 0.2, ("risk-off", "mixed", "risk-on")),
            "eur": eur.price_text if eur else "n/a",
            "eur_mv": move("EURUSD"),
            "spx_mv": move("SPX"),
            "btc_mv": move("BTC"),
            "gold_mv": move("GOLD"),
            "dollar_word": "bid" if eur and eur.move_pct < 0 else "offered",
            "rates_word": _band(change, -0.5, 0.5, ("rallying", "steady", "backing up")),
            "gold_word": "haven demand" if gold and gold.move_pct > 0 and tone < 0 else "no haven bid",
            "side_cap": "Buying" if plan.lean > 0 else "Selling",
        }


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
            return -_sign(tone) * _clip((abs(tone) - 0.4) * 2.5, 0.0, 1.0)
        buzz = 0.15 * max(0.0, quote.mentions_ratio - 1)
        return _clip(tone * 1.6 + _sign(tone) * buzz)

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
        fading = plan.lean != 0 and plan.lean != _sign(tone)
        agrees = _sign(quote.move_pct) == _sign(tone)
        return {
            "sent": f"{tone:+.2f}",
            "mentions": f"{quote.mentions_ratio:.1f}x",
            "news_word": _band(tone, -0.15, 0.15, ("bearish", "mixed", "bullish")),
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
    """The strategy's writer, or the plain voice for a strategy this module does not know."""
    return WRITERS.get(strategy, GENERIC_WRITER)
