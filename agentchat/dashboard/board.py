"""The live chat as one Streamlit element, drawn in the browser by the viewer page's card renderer.

Why one element and not an element per card: every rerun of the live area used to send each card
again as four Streamlit elements (about 500 for 120 cards), and the operator's browser rebuilt
them; the browser, not the server, was the bottleneck. Here the rerun sends the messages the
session's feed holds as the element's `data`, and the element (`board.js`, appended to the hub's
own `agentchat.js`, so its `CardRenderer` draws both the viewer page's cards and these) keeps its
cards by message id: a rerun that brings one new message adds one card, nothing else in the DOM
changes, and the ages move by the browser's clock. It is a Custom Components v2 element: no
iframe, no build step; Streamlit serves the module, which is read from this package.

**A rerun sends what changed.** The whole window is about 150 KB of JSON (the messages carry their
folded "why"), and Streamlit sends an element's whole data at every rerun. So a full run of the
page sends every message (`full`), and a rerun of the live fragment only the messages this session
has not sent the element since (with `ids`, the order of all of them): one new message is one
message on the wire, not 120. The module keeps what it was given (`board.js`, per page, across
remounts) and forgets what left the window, as `draw` does; should it ever lack a message `ids`
names (a page that lost its module), it says so (the `missing` trigger) and the rerun that causes
sends everything again.

**A new message is drawn as the browser's stream brings it.** While the session redraws on change,
the element also follows the arrivals of the browser's stream (the wake-up's, `wake.js`) and draws
at once each one the rerun it wakes will draw (`Preview`: the picked agents, past the id the feed
has read, the per-agent cap). The rerun then draws what the session's feed holds, and the card,
keyed by id, is already in place. The feed stays the source of what is drawn: a preview is only
ever a message the feed reads next, and the next rerun's data replaces it. Without it each card
waited for the round trip to Streamlit and the frontend's redraw of the fragment, about 100 ms of
the operator's browser per page, so ten pages on one browser core showed a round in turn.

Text stays text: the renderer sets agent text with `textContent` only, colours only as
`#RRGGBB` through the CSSOM.

Agent colours are the roster's, which are chosen to mark a column, not to be read: the names are
drawn in a shade of that colour with at least `MIN_CONTRAST` against the card, in Streamlit's
light and dark theme each (`readable`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any, Final, Literal

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from agentchat.agents import Agent
from agentchat.dashboard.standings import Standing, pct, whole_money

__all__ = [
    "CARD_BACKGROUNDS",
    "KEY",
    "MIN_CONTRAST",
    "STANDINGS_KEY",
    "Figure",
    "Preview",
    "StandingsLine",
    "contrast",
    "draw",
    "draw_standings",
    "module_css",
    "module_js",
    "mount",
    "name_color",
    "readable",
    "theme",
]

KEY: Final = "agentchat_board"
STANDINGS_KEY: Final = "agentchat_standings"
MIN_CONTRAST: Final = 4.5  # WCAG AA for normal text
# The card's background in Streamlit's default light and dark theme (backgroundColor, secondaryBackgroundColor).
CARD_BACKGROUNDS: Final[Mapping[str, str]] = {"light": "#ffffff", "dark": "#262730"}
Layout = Literal["columns", "timeline", "tabs"]
_MESSAGE_FIELDS: Final = ("id", "agent_id", "agent_name", "kind", "content", "meta", "created_at", "details")
_SENT_KEY: Final = "_agentchat_board_sent"  # the ids the element holds, as this session last sent them


@functools.cache
def module_js() -> str:
    """The dashboard elements' one module: the hub's `agentchat.js` (its renderer and its client), then the
    board (`board.js`) and the wake-up (`wake.js`). Both elements get the same text, so the browser loads
    it once per page (Streamlit keys the module by a hash of it) and they share its state."""
    viewer = resources.files("agentchat.hub").joinpath("static", "agentchat.js").read_text(encoding="utf-8")
    own = resources.files("agentchat.dashboard")
    parts = [viewer, *(own.joinpath(name).read_text(encoding="utf-8") for name in ("board.js", "wake.js"))]
    return "\n".join(parts)


def module_css() -> str:
    """The viewer page's styles, then the board's (Streamlit's theme)."""
    viewer = resources.files("agentchat.hub").joinpath("static", "agentchat.css").read_text(encoding="utf-8")
    board = resources.files("agentchat.dashboard").joinpath("board.css").read_text(encoding="utf-8")
    return f"{viewer}\n{board}"


@dataclass(frozen=True, slots=True)
class Figure:
    """One figure at a glance: a short label that fits a narrow column, its value, what it counts.

    `since`: the `created_at` the value is the age of ("Last message"), so the element moves it by the
    browser's clock between reruns, as it moves the cards' ages."""

    label: str
    value: str
    help: str = ""
    since: str | None = None


@dataclass(frozen=True, slots=True)
class Preview:
    """What the element may draw before the rerun: arrivals of the browser's stream to `hub_url` with an id
    above `through` (the highest the session's feed has read), at most `max_per_agent` per agent."""

    hub_url: str
    through: int
    max_per_agent: int


@dataclass(frozen=True, slots=True)
class StandingsLine:
    """The Leaderboard in one line: the agents by rank, then the round and the next one."""

    rows: Sequence[Standing]
    caption: str


_element = st.components.v2.component("agentchat_board", html="", css=module_css(), js=module_js())


def mount(element: Callable[..., Any], key: str, data: Mapping[str, Any], **options: Any) -> None:
    """Mount `element` (one of the module's: the board, its standings line, the wake-up) with `data`,
    given as a one-item list.

    Streamlit looks for a dataframe in each value of a dict it is given as an element's data, at
    about half a millisecond a value (its type checks, not the size): four milliseconds of every
    rerun for the board's nine keys. A list it passes through as it is, so the module's entry point
    (`wake.js`) takes the one item out."""
    element(key=key, data=[data], **options)


def _channels(color: str) -> tuple[float, float, float]:
    return int(color[1:3], 16) / 255, int(color[3:5], 16) / 255, int(color[5:7], 16) / 255


def _luminance(color: str) -> float:
    def linear(channel: float) -> float:
        return channel / 12.92 if channel <= 0.03928 else ((channel + 0.055) / 1.055) ** 2.4

    red, green, blue = (linear(channel) for channel in _channels(color))
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast(foreground: str, background: str) -> float:
    """WCAG 2 contrast ratio of two `#RRGGBB` colours, 1 to 21."""
    lighter, darker = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def _mix(color: str, toward: str, share: float) -> str:
    mixed = (
        round((1 - share) * own * 255 + share * other * 255)
        for own, other in zip(_channels(color), _channels(toward), strict=True)
    )
    return "#" + "".join(f"{channel:02X}" for channel in mixed)


@functools.lru_cache(maxsize=256)
def readable(color: str, theme: Literal["light", "dark"]) -> str:
    """`color`, or its nearest shade (toward black on light, white on dark) that is readable on the card."""
    background = CARD_BACKGROUNDS[theme]
    toward = "#000000" if theme == "light" else "#FFFFFF"
    for step in range(21):
        shade = _mix(color, toward, step / 20)
        if contrast(shade, background) >= MIN_CONTRAST:
            return shade
    return toward


def theme() -> Literal["light", "dark"]:
    """The operator's Streamlit theme as this run sees it (light until the browser has said)."""
    return "dark" if st.context.theme.type == "dark" else "light"


def name_color(color: str) -> str:
    """An agent's colour for its name in Streamlit's own elements: `readable` in the operator's theme."""
    return readable(color, theme())


def _agent(agent: Agent) -> dict[str, str]:
    return {
        "id": agent.id,
        "name": agent.name,
        "strategy": agent.strategy,
        "color": agent.color,
        "light": readable(agent.color, "light"),
        "dark": readable(agent.color, "dark"),
    }


def draw(
    layout: Layout,
    agents: Sequence[Agent],
    messages: Sequence[Mapping[str, Any]],
    names_by_message_id: Mapping[int, str],
    figures: Sequence[Figure] = (),
    preview: Preview | None = None,
) -> None:
    """The element, fed with the picked agents and their messages (newest first, as the feed holds them),
    and the figures drawn above them; with `preview`, it also draws the browser stream's arrivals at once.

    A full run sends every message; a rerun of the fragment only those the element was not sent yet
    (see the module docstring).
    """
    ids = [int(message["id"]) for message in messages]
    held: frozenset[int] = frozenset() if _send_everything() else st.session_state.get(_SENT_KEY, frozenset())
    new = [message for message in messages if int(message["id"]) not in held]
    targets: set[int] = set()
    for message in new:
        meta = message.get("meta")
        reply_to: Any = meta.get("reply_to") if isinstance(meta, Mapping) else None
        try:
            targets.add(int(reply_to))
        except (TypeError, ValueError):
            continue
    st.session_state[_SENT_KEY] = frozenset(ids)
    mount(
        _element,
        KEY,
        {
            "layout": layout,
            "theme": theme(),
            "agents": [_agent(agent) for agent in agents],
            "full": not held,
            "ids": ids,
            "messages": [{key: message[key] for key in _MESSAGE_FIELDS if key in message} for message in new],
            "names": {str(target): names_by_message_id[target] for target in targets if target in names_by_message_id},
            "figures": [_figure(figure) for figure in figures],
            "preview": _preview(preview),
        },
        on_missing_change=_ignore,
    )


def draw_standings(line: StandingsLine | str) -> None:
    """The standings line, a second mount of the same element (drawn after the cards into a place kept
    above them, so a new message never waits for the books): each agent by rank in its readable colour,
    or why the books cannot be read."""
    if isinstance(line, str):
        data: dict[str, Any] = {"standings": [], "error": line}
    else:
        data = {"standings": [_standing(row) for row in line.rows], "caption": line.caption}
    data["theme"] = theme()
    mount(_element, STANDINGS_KEY, data)


def _figure(figure: Figure) -> dict[str, str]:
    drawn = {"label": figure.label, "value": figure.value, "help": figure.help}
    if figure.since is not None:
        drawn["since"] = figure.since
    return drawn


def _preview(preview: Preview | None) -> dict[str, Any] | None:
    if preview is None:
        return None
    return {"hub": preview.hub_url, "through": preview.through, "max_per_agent": preview.max_per_agent}


def _standing(row: Standing) -> dict[str, Any]:
    agent = _agent(row.agent)
    return {
        "rank": row.rank,
        "agent": agent,
        "equity": whole_money(row.equity),
        "return": pct(row.return_pct),
    }


def _send_everything() -> bool:
    """A full run of the page (the element may be new), or the element said it lacks a message."""
    context = get_script_run_ctx()
    if context is None or not context.fragment_ids_this_run:
        return True
    value: Any = st.session_state.get(KEY)
    missing = value.get("missing") if isinstance(value, dict) else getattr(value, "missing", None)
    return bool(missing)


def _ignore() -> None:
    """The `missing` trigger's callback: the rerun it causes is what is wanted, `draw` reads the value."""
