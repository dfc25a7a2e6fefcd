"""The engine every voice shares: how an agent turns the market and its own book into a chat line.

A message is composed, not picked: an opener, one or two reasons, an action and a confidence clause,
each chosen from a few fragments of that strategy's vocabulary and filled with numbers from the
`MarketSnapshot` and the agent's position. Fragments are templates over one dict of pre-formatted
strings (`Writer.fields`), so every number is formatted in one place and a price in the text is always
`Quote.price_text`, the same value as `meta.price`.

Writers are stateless: they only *propose* a trade (`Trade`, with the position it leaves); the
generator books it. `meta.side` is set only when the message trades, with the signed `quantity` and
the `position_after`; a view without a trade ("leaning long, no position yet") has `side: null`.
Each strategy's voice (`agentchat.generator.voices`, one module per strategy) overrides a few
hooks of `Writer` (which symbol it looks at, its signal, its reasons, its vocabulary); anything
else, including an unknown strategy, gets the plain `Writer` voice.

A line is MIN_VOICE_CHARS to MAX_VOICE_CHARS characters: a chat line, shorter than the
`message.MAX_CONTENT_CHARS` any message may hold, and ASCII, so it is within the wire budget too.
Text is plain ASCII with no markup characters (no `$`, `*`, `_`, `#`, `<`, `>`, backticks or
tildes), because dashboards may render it through markdown. Names of other agents come from a
roster file, so they are folded to ASCII and shortened before they are quoted (`formatting`).
"""

from __future__ import annotations

import math
import random
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from agentchat.agents import Agent
from agentchat.generator.formatting import (
    amount,
    ascii_name,
    band,
    describe_position,
    fear_greed_label,
    signed_amount,
    signed_pct,
)
from agentchat.market.books import Position
from agentchat.market.prices import SLOW_BARS, MarketSnapshot, Quote
from agentchat.message import Message, MessageKind

__all__ = [
    "ALERT_SIGMA",
    "LEAN_SIGNAL",
    "MAX_NOTIONAL",
    "MAX_VOICE_CHARS",
    "MIN_VOICE_CHARS",
    "OPEN_SIGNAL",
    "Action",
    "Context",
    "Plan",
    "Post",
    "ReplyTarget",
    "Side",
    "Trade",
    "Writer",
    "breakout",
    "clip",
    "side_of",
    "sign",
    "trend_strength",
]

Side = Literal["buy", "sell"]
Action = Literal["open", "add", "trim", "close", "hold", "watch", "pass", "filled", "unload", "quote"]

ALERT_SIGMA = 3.0  # a bar this many normal sigmas long is an alert
MIN_VOICE_CHARS = 80
MAX_VOICE_CHARS = 400  # well inside message.MAX_CONTENT_CHARS: the longest composed line seen is ~350
OPEN_SIGNAL = 0.45
LEAN_SIGNAL = 0.2
MAX_NOTIONAL = 1_500_000.0


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
    direction: int  # +1 they bought, -1 they sold, 0 they traded nothing
    kind: MessageKind

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

    @property
    def signed_quantity(self) -> float:
        return self.quantity if self.side == "buy" else -self.quantity


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
        """A plan that trades `quantity` (signed units, rounded to the instrument's lot) at the quote's price.

        A fill that would close the position is taken exactly, so a close leaves it flat; a quantity
        below one lot trades nothing, and the plan becomes a hold (or a pass when flat).
        """
        if position.direction and abs(quantity + position.quantity) <= 10.0**-quote.quantity_decimals / 2:
            quantity = -position.quantity
        else:
            quantity = round(quantity, quote.quantity_decimals)
        if quantity == 0:
            return cls("hold" if position.direction else "pass", position.direction, confidence, position)
        after, realized = position.after_fill(quantity, quote.price)
        trade = Trade("buy" if quantity > 0 else "sell", abs(quantity), quote.price, after, realized)
        return cls(action, sign(quantity), confidence, after, trade)


@dataclass(frozen=True, slots=True)
class Post:
    """A writer's finished message, before it becomes a `Draft`."""

    kind: MessageKind
    symbol: str
    view: Side | None  # the side the agent leans to; `meta.side` is only ever the side of a trade
    price: float
    confidence: float
    content: str
    reply_to: int | None = None
    trade: Trade | None = None
    details: dict[str, Any] | None = None  # the numbers behind the decision (`Writer.details`)

    def meta(self) -> dict[str, Any]:
        """SPEC section 4's meta: `side` only when the message traded, then the signed fill and the position after."""
        meta: dict[str, Any] = {
            "symbol": self.symbol,
            "side": self.trade.side if self.trade else None,
            "price": self.price,
            "confidence": self.confidence,
            "reply_to": self.reply_to,
        }
        if self.trade is not None:
            meta["quantity"] = self.trade.signed_quantity
            meta["position_after"] = self.trade.after.quantity
        return meta


def side_of(direction: int) -> Side | None:
    """The side a lean would trade on, None for no lean."""
    return "buy" if direction > 0 else "sell" if direction < 0 else None


def sign(value: float) -> int:
    """-1, 0 or +1."""
    return (value > 0) - (value < 0)


def clip(value: float, low: float = -1.0, high: float = 1.0) -> float:
    """`value` held within [low, high]."""
    return max(low, min(high, value))


def trend_strength(quote: Quote) -> float:
    """Fast MA over slow MA, in bar sigmas: positive = uptrend."""
    return (quote.ma_fast / quote.ma_slow - 1) * 100 / max(quote.sigma_pct, 1e-9)


def breakout(quote: Quote) -> int:
    """+1 above the slow window's range, -1 below it, 0 inside."""
    return 1 if quote.price > quote.range_high else -1 if quote.price < quote.range_low else 0


class Writer:
    """The plain voice, and the composition every strategy shares.

    Subclasses override the hooks: `weight` (which symbol catches its eye), `signal` (-1 sell .. +1
    buy), `reasons` (templates that explain the signal), `extra_fields`, `plan` (where entries or
    exits differ from the directional default) and the template tuples.
    """

    strategy: ClassVar[str] = "generic"
    # The decision rule behind `plan`, in words, for a message's `details` (the "why" under its card).
    rule: ClassVar[Mapping[str, str]] = {
        "signal": "tanh of the trend strength and the bar's move in sigmas, -1 sell .. +1 buy",
        "open": f"flat and |signal| >= {OPEN_SIGNAL}; a lean (no trade) from |signal| >= {LEAN_SIGNAL}",
        "size": "ticket notional 50,000 x round((150,000 + 450,000 x |signal|) / 50,000), at the price",
        "add": f"signal with the position >= 0.6, up to {MAX_NOTIONAL:,.0f} notional",
        "close": "signal against the position <= -0.3, or a loss of 6 normal bars",
        "trim": "half off at a gain of 8 normal bars once the signal fades below 0.3",
    }
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
        lean = sign(signal) if strength >= LEAN_SIGNAL else 0
        confidence = self.confidence(strength, ctx.rng)
        held = position.direction
        if held == 0:
            if strength >= OPEN_SIGNAL:
                ticket = self.ticket_notional(strength) / quote.price
                return Plan.traded("open", confidence, position, lean * ticket, quote)
            return Plan("watch" if lean else "pass", lean, confidence, position)
        aligned = signal * held
        pnl_pct = position.pnl_pct(quote.price)
        normal_bar_pct = quote.sigma_pct / max(quote.vol_ratio, 1e-9)
        if aligned <= -0.3 or pnl_pct <= -6 * normal_bar_pct:
            return Plan.traded("close", confidence, position, -position.quantity, quote)
        if aligned >= 0.6 and position.notional(quote.price) + 150_000 <= MAX_NOTIONAL:
            ticket = self.ticket_notional(strength * 0.5) / quote.price
            return Plan.traded("add", confidence, position, held * ticket, quote)
        if pnl_pct >= 8 * normal_bar_pct and aligned < 0.3:
            return Plan.traded("trim", confidence, position, -position.quantity / 2, quote)
        return Plan("hold", held, confidence, position)

    # Composition -------------------------------------------------------------------------------

    def details(self, quote: Quote, signal: float, plan: Plan) -> dict[str, Any]:
        """The numbers behind the decision, for the message's `details`: what the engine saw and did."""
        decision: dict[str, Any] = {"action": plan.action, "lean": side_of(plan.lean), "confidence": plan.confidence}
        if plan.trade is not None:
            decision.update(
                side=plan.trade.side,
                quantity=plan.trade.quantity,
                notional=round(plan.trade.quantity * plan.trade.price, 2),
            )
        return {
            "engine": self.strategy,
            "inputs": {
                "symbol": quote.symbol,
                "price": quote.price,
                "move_sigma": round(quote.move_sigma, 4),
                "zscore": round(quote.zscore, 4),
                "basis_bps": round(quote.basis_bps, 4),
                "flow_imbalance": round(quote.flow_imbalance, 4),
            },
            "signal": round(signal, 4),
            "thresholds": {"open": OPEN_SIGNAL, "lean": LEAN_SIGNAL},
            "rule": dict(self.rule),
            "decision": decision,
        }

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
            view=side_of(plan.lean),
            price=quote.price,
            confidence=plan.confidence,
            content=content,
            trade=plan.trade,
            details=self.details(quote, signal, plan),
        )

    def reply(self, ctx: Context, target: ReplyTarget) -> Post:
        """An answer to another agent's call, agreeing or not according to this strategy's signal."""
        quote = ctx.market.quotes[target.symbol]
        signal = self.signal(quote, ctx.market)
        lean = sign(signal) if abs(signal) >= LEAN_SIGNAL else 0
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
            view=side_of(lean),
            price=quote.price,
            confidence=plan.confidence,
            content=content,
            reply_to=target.message_id,
            details=self.details(quote, signal, plan),
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
        return round(clip(0.3 + 0.6 * strength + rng.gauss(0.0, 0.04), 0.05, 0.97), 2)

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
            updown=band(quote.move_pct, 0.0, 0.0, ("down", "flat", "up")),
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
            trend_word=band(trend, -0.3, 0.3, ("down", "flat", "up")),
            regime=market.regime,
            y10=f"{market.us10y_pct:.2f}%",
            y10chg=f"{market.us10y_change_bps:+.1f}bp",
            fg=str(fear_greed),
            fg_label=fear_greed_label(fear_greed),
            conf=f"{plan.confidence:.2f}",
            lean_word="long" if plan.lean > 0 else "short" if plan.lean < 0 else "neutral",
            long_short="long" if plan.lean > 0 else "short",
            side_word="buying" if plan.lean > 0 else "selling",
            old_dir="long" if before.direction > 0 else "short",
            size=amount(plan.trade.quantity * quote.price if plan.trade else before.notional(quote.price)),
            pos=describe_position(after, quote),
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
            if len(" ".join(texts[i] for i in keep)) <= MAX_VOICE_CHARS:
                break
            if index not in required:
                keep.remove(index)
        content = " ".join(texts[i] for i in keep)
        spare = [reason.format_map(fields) for reason in extra if reason not in parts]
        while len(content) < MIN_VOICE_CHARS and spare:
            content = f"{content} {spare.pop(0)}"
        return content[:MAX_VOICE_CHARS]


_COMMON_FIELDS = frozenset({"sym", "px", "mv", "slow"})


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def _not_repeating(reasons: list[str], *used: str) -> list[str]:
    """The reasons that quote no number already in `used` (symbol, price and move excepted)."""
    taken = set().union(*(_placeholders(template) for template in used)) - _COMMON_FIELDS
    fresh = [reason for reason in reasons if not _placeholders(reason) & taken]
    return fresh or reasons[:1]
