"""What wakes a session's live area: the browser's one stream to the hub, held by a tiny element.

The live area is a fragment that reruns when something changed, not by the clock. The session's
feed (a background thread, `feed.py`) stays the source of what is drawn; the browser only says
*when*. `mount()` draws a Custom Components v2 element (no build step, no iframe, nothing visible)
whose module (`wake.js`, after the hub's `agentchat.js`: see `board.module_js`) follows the hub's
stream with the product's one browser client, `AgentChatClient`, and, when a message arrives (or
the stream connects, fails or another store turns up), calls `setTriggerValue`. A trigger of an
element inside a fragment reruns that fragment only, so the cards are redrawn exactly once per
burst of messages, and never while nothing happens.

Deliberate choices:

- **One stream per browser.** The dashboard tabs of one browser hold one stream on the hub between
  them, as the viewer page's tabs do: Web Locks elect the tab that holds it, BroadcastChannel
  hands what arrives to the others (the Diagnostics page says which this tab is, `role`). Within a
  tab, Streamlit calls the module again on every rerun without unmounting it: a rerun reuses the
  client. When the element is unmounted (the operator moves to another page), the client is closed
  only a few seconds later unless the next page mounts the element again, so switching pages does
  not reconnect either.
- **A burst is one rerun.** A round is six messages within a millisecond or two: the module waits
  10 ms after the first and sends the highest id seen. The rerun then waits (up to
  `SEEN_WAIT_SECONDS`) until the session's feed has read that id, because the browser's stream and the
  feed's are two connections and either may be first.
- **Live from the session's position.** The stream starts after the last id the session's feed has
  read (`since`): the hub replays only what is newer, the feed already holds the history.
- **Degrades to the timer, and is the timer.** The element reports `link` (`open`, or `down` with
  the reason) as its state. When a stream has not opened within a few seconds, and whenever the
  browser cannot reach the hub (another host, a refused origin, the hub down), the module itself
  wakes the fragment every `clock_seconds` (today's timer), and the Diagnostics page says which
  mode the session is in (`mode()`). An error of an open stream is `down` too, and the hub coming back is `open` again.
  Keeping that timer in the browser, rather than in the fragment's `run_every`, means a change of
  mode never needs a full rerun: a full rerun asked for by the page being left would take the place
  of an operator's click on another page that is still waiting to run, and the click would be lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Literal

import streamlit as st

from agentchat.dashboard import board

__all__ = ["KEY", "SEEN_WAIT_SECONDS", "Mode", "Wakeup", "mode", "mount", "pending"]

KEY: Final = "agentchat_wakeup"
SEEN_WAIT_SECONDS: Final = 1.0

Mode = Literal["change", "clock", "poll"]

_element = st.components.v2.component("agentchat_wakeup", html="", js=board.module_js())  # wake.js


@dataclass(frozen=True, slots=True)
class Wakeup:
    """What the element said: the stream's state, and what woke this rerun (None: not the element)."""

    link: str | None  # "open", "down: <reason>", or None before the element reported
    kind: str | None  # "message", "ready", "error", "unavailable", "clock"
    message_id: int
    role: str = ""  # "held": this tab holds the browser's stream; "shared": another tab does; "own": no sharing

    @property
    def open(self) -> bool:
        return self.link == "open"


def pending() -> Wakeup:
    """The element's values as this rerun starts (before `mount` draws it): what woke it, and the link."""
    value: Any = st.session_state.get(KEY)
    link = getattr(value, "link", None) if value is not None else None
    news = getattr(value, "news", None) if value is not None else None
    role = getattr(value, "role", None) if value is not None else None
    if isinstance(value, dict):
        link, news, role = value.get("link"), value.get("news"), value.get("role")
    kind, message_id = None, 0
    if isinstance(news, dict):
        kind = str(news.get("kind")) if news.get("kind") else None
        raw_id = news.get("id")
        message_id = raw_id if isinstance(raw_id, int) else 0
    return Wakeup(str(link) if isinstance(link, str) else None, kind, message_id, role if isinstance(role, str) else "")


def mount(hub_url: str, clock_seconds: float | None, since: int, poll_seconds: float) -> None:
    """Draw the (invisible) element, inside the fragment it is to rerun.

    `clock_seconds`: how often the element wakes the fragment while it holds no stream (None: never);
    `since`: the last id the session's feed has read (a new stream starts after it); `poll_seconds`:
    how often the browser's client polls while its stream is down. The element is also given what this
    run read of its state, and sets the state again when that differs from what it holds (`wake.js`).
    """
    known = pending()
    board.mount(
        _element,
        KEY,
        {
            "hub_url": hub_url,
            "clock_ms": round(clock_seconds * 1000) if clock_seconds else 0,
            "since": since,
            "poll_seconds": poll_seconds,
            "link": known.link,
            "role": known.role,
        },
        height=0,
        on_news_change=_ignore,
        on_link_change=_ignore,
        on_role_change=_ignore,
    )


def mode(redraw: str, feed_live: bool, wakeup: Wakeup) -> Mode:
    """How this session's live area is redrawn now: on change, by the clock, or by the poll's autorefresh."""
    if not feed_live:
        return "poll"
    return "change" if redraw == "change" and wakeup.open else "clock"


def _ignore() -> None:
    """A trigger's callback: the rerun it causes is what is wanted, the fragment reads the value itself."""
