"""What a value looks like on the dashboard: pure functions from messages, agents and feed state to text.

Nothing here calls Streamlit, so every string the pages draw around agent text can be tested as a
plain function (`tests/test_dashboard_formatting.py`); the pages only place them.

Agent text is always text: message content is never Markdown (see `live_page`); the short fields that
sit in Markdown (symbols, names, reasons) go through `escape_markdown` here, which backslash-escapes
every ASCII punctuation character, so no HTML, link, directive or LaTeX can form. The only styling is
Streamlit's own Markdown colour directive (`colored`), fed colours that match `#RRGGBB` (see `hub_api`).
"""

from __future__ import annotations

import functools
import re
import statistics
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final

from agentchat.agents import Agent
from agentchat.client import FeedSnapshot
from agentchat.message import parse_timestamp
from agentchat.probe import CheckResult

__all__ = [
    "EMPTY_TEXT",
    "GAP_TEXT",
    "KIND_COLORS",
    "PILLS",
    "WORD_JOINER",
    "agent_heading",
    "card_heading",
    "check_rows",
    "colored",
    "duration",
    "empty_hint",
    "escape_markdown",
    "latency_summary",
    "message_age_seconds",
    "meta_line",
    "model_notice",
    "pill_markdown",
    "pill_text",
    "relative_age",
]

PILLS: Final[Mapping[str, tuple[str, str]]] = {
    "realtime": ("green", "🟢 Real-time (SSE)"),
    "polling": ("orange", "🟡 Polling (fallback)"),
    "error": ("red", "🔴 Error"),
    "connecting": ("gray", "⚪ Connecting"),
}
# The texts and rules the viewer's module (`hub/static/agentchat.js`) shows too: its copies are held
# equal to these by tests/test_shared_rules.py (pills, empty and gap notices, kinds, meta line, ages).
EMPTY_TEXT: Final = "Waiting for agent messages…"
GAP_TEXT: Final = "Some messages were removed by the hub's retention before this page could read them."
KIND_COLORS: Final[Mapping[str, str]] = {"analysis": "blue", "trade": "green", "reply": "violet", "alert": "red"}
WORD_JOINER: Final = "\u2060"
_ASCII_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")
_AUTOLINK_WWW = re.compile(r"(?<=[wW])(?=\\\.)")  # between `www` and its (escaped) dot


def escape_markdown(text: str) -> str:
    """`text` as Markdown that shows exactly `text`, on one line, with no markup and no link.

    Every ASCII punctuation mark is backslash-escaped. GFM also turns bare `http://`, `www.` and
    `a@b.c` into links after parsing, escapes or not, so a word joiner (U+2060, invisible) goes
    between the parts those patterns need.
    """
    escaped = _ASCII_PUNCTUATION.sub(r"\\\1", " ".join(str(text).split()))
    escaped = escaped.replace("\\:\\/", "\\:" + WORD_JOINER + "\\/").replace("\\@", WORD_JOINER + "\\@")
    return _AUTOLINK_WWW.sub(WORD_JOINER, escaped)


def relative_age(seconds: float) -> str:
    """'just now', '10 s ago', '4 min ago', '2 h ago': seconds in steps of 5, as the browser module says it
    (its ages change, and redraw every open page, every 5 s rather than every second)."""
    if seconds < 5:
        return "just now"
    if seconds < 60:
        return f"{int(seconds // 5) * 5} s ago"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    return f"{int(seconds // 3600)} h ago"


def duration(seconds: float) -> str:
    """'90 s', '10 min', '2 h' for a retention window."""
    if seconds < 120:
        return f"{seconds:g} s"
    if seconds < 7200:
        return f"{seconds / 60:g} min"
    return f"{seconds / 3600:g} h"


def message_age_seconds(message: Mapping[str, Any], now: datetime) -> float | None:
    """Seconds since the message's `created_at` (never negative), None when it has no readable one."""
    try:
        return max(0.0, (now - _created_at(str(message["created_at"]))).total_seconds())
    except (KeyError, ValueError):
        return None


@functools.lru_cache(maxsize=4096)  # a window's timestamps are read again at every rerun of the live area
def _created_at(text: str) -> datetime:
    return parse_timestamp(text)


def meta_line(message: Mapping[str, Any], names_by_message_id: Mapping[int, str]) -> str:
    """'BTC · buy 0.25 · 71,234.5 · confidence 72% · ↩ #41 Claude Arbitrage', from whatever meta there is."""
    meta = message.get("meta")
    if not isinstance(meta, Mapping):
        return ""
    parts = [str(meta[key]) for key in ("symbol", "side") if meta.get(key)]
    quantity = meta.get("quantity")
    if meta.get("side") and isinstance(quantity, int | float) and not isinstance(quantity, bool):
        parts[-1] = f"{parts[-1]} {abs(quantity):,.8g}"  # 'buy 0.25': what the message traded
    price = meta.get("price")
    if isinstance(price, int | float) and not isinstance(price, bool):
        parts.append(f"{price:,.8g}")
    confidence = meta.get("confidence")
    if isinstance(confidence, int | float) and not isinstance(confidence, bool):
        parts.append(f"confidence {confidence:.0%}")
    reply_to = meta.get("reply_to")
    if reply_to is not None:
        try:
            target = int(reply_to)
        except (TypeError, ValueError):
            target = None
        if target is not None:
            who = names_by_message_id.get(target)
            parts.append(f"↩ #{target} {who}" if who else f"↩ #{target}")
    return " · ".join(parts)


def colored(text: str, color: str) -> str:
    """Markdown for `text` in `color` (a `#RRGGBB` from the checked roster)."""
    return f':color[{escape_markdown(text)}]{{foreground="{color}"}}'


def pill_text(snapshot: FeedSnapshot, enable_sse: bool) -> tuple[str, str, str]:
    """(badge colour, label, reason) for the status pill."""
    color, label = PILLS[snapshot.state]
    last_error = snapshot.diagnostics.last_error or ""
    if snapshot.state == "polling":
        reason = "SSE is switched off" if not enable_sse else last_error or "SSE is down"
    elif snapshot.state == "error":
        reason = last_error or "no connection to the hub"
    elif snapshot.state == "connecting":
        reason = f"to {snapshot.diagnostics.hub_url}"
    else:
        reason = f"connected to {snapshot.diagnostics.hub_url}"
    return color, label, reason


def model_notice(generator: object) -> str | None:
    """The notice for `/healthz`'s `generator` while the model fails and rounds use the offline text; else None."""
    if not isinstance(generator, str) or not generator.startswith("degraded"):
        return None
    reason = generator.partition(":")[2].strip() or "no reason given"
    return f"⚠️ The model is not writing: rounds use the offline text ({escape_markdown(reason)})."


def empty_hint(operator: bool) -> str:
    """What brings the first messages: Generate for an operator; a read-only user can only wait."""
    if operator:
        return "Press **Generate messages** in the sidebar, or wait for the scheduler's next round."
    return "They appear with the scheduler's next round."


def pill_markdown(color: str, label: str, reason: str) -> str:
    """The status pill as one Markdown line: the badge, then the reason in small print."""
    return f":{color}-badge[{label}] :small[{escape_markdown(reason)}]"


def agent_heading(agent: Agent) -> str:
    """An agent's panel header: a dot and its name in its colour, its strategy below."""
    strategy = escape_markdown(agent.strategy.replace("_", " "))
    return f"**{colored('●', agent.color)} {colored(agent.name, agent.color)}**  \n:small[{strategy}]"


def card_heading(message: Mapping[str, Any], now: datetime, agents_by_id: Mapping[str, Agent] | None = None) -> str:
    """A card's first line: its kind's badge and its age; with `agents_by_id`, the agent's name first."""
    kind = str(message.get("kind", ""))
    age = message_age_seconds(message, now)
    head = [f":{KIND_COLORS.get(kind, 'gray')}-badge[{escape_markdown(kind)}]"]
    if agents_by_id is not None:
        agent = agents_by_id.get(str(message.get("agent_id")))
        name = agent.name if agent else str(message.get("agent_name", ""))
        head.insert(0, f"**{colored(name, agent.color)}**" if agent else f"**{escape_markdown(name)}**")
    if age is not None:
        head.append(f":small[{relative_age(age)}]")
    return " ".join(head)


def latency_summary(latencies_ms: Sequence[float]) -> str:
    """'40 deliveries: median 3.1 ms, p90 5.2 ms, max 9.8 ms' (at least one latency)."""
    ordered = sorted(latencies_ms)
    p90 = ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]
    return (
        f"{len(ordered)} deliveries: median {statistics.median(ordered):.1f} ms, p90 {p90:.1f} ms,"
        f" max {ordered[-1]:.1f} ms"
    )


def check_rows(results: Sequence[CheckResult]) -> list[dict[str, str]]:
    """The connection test's table: one row per check."""
    return [
        {
            "result": "✅ PASS" if result.passed else "❌ FAIL",
            "check": result.name,
            "detail": result.detail,
            "seconds": f"{result.seconds:.3f}",
        }
        for result in results
    ]
