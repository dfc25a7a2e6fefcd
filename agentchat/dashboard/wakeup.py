"""What wakes a session's live area: an `EventSource` in the operator's browser, held by a tiny element.

The live area is a fragment that reruns when something changed, not by the clock. The session's
feed (a background thread, `feed.py`) stays the source of what is drawn; the browser only says
*when*. `mount()` draws a Custom Components v2 element (inline JavaScript, no build step, no
iframe, nothing visible) whose script holds one `EventSource` on the hub's stream and, when a
message arrives (or the stream connects, fails or says it is unavailable), calls `setTriggerValue`.
A trigger of an element inside a fragment reruns that fragment only, so the cards are redrawn
exactly once per burst of messages, and never while nothing happens.

Deliberate choices:

- **One stream per tab.** The script keeps its `EventSource` in `window`, keyed by the hub's URL,
  and Streamlit calls the script again on every rerun without unmounting it: a rerun reuses the
  stream. When the element is unmounted (the operator moves to another page), the stream is closed
  only a few seconds later unless the next page mounts the element again, so switching pages
  does not reconnect either. A browser allows six connections per host: a seventh dashboard tab of
  one browser profile gets no stream and keeps the timer (the Diagnostics page says so).
- **A burst is one rerun.** A round is six messages within a millisecond or two: the script waits
  `COALESCE_MILLISECONDS` after the first and sends the highest id seen. The rerun then waits (up to
  `SEEN_WAIT_SECONDS`) until the session's feed has read that id, because the browser's stream and the
  feed's are two connections and either may be first.
- **Live from now.** The stream is opened without `Last-Event-ID`: the hub replays nothing, the feed
  already holds the history. The browser's own reconnects send the id they last saw, as usual.
- **Degrades to the timer, and is the timer.** The element reports `link` (`open`, or `down` with
  the reason) as its state. Until a stream has opened, and whenever the browser cannot reach the
  hub (another host, a refused origin, the hub down), the script itself wakes the fragment every
  `clock_seconds` (today's timer), and the Diagnostics page says which mode the session is in
  (`mode()`). An error of an open stream is `down` too, and the hub coming back is `open` again.
  Keeping that timer in the browser, rather than in the fragment's `run_every`, means a change of
  mode never needs a full rerun: a full rerun asked for by the page being left would take the place
  of an operator's click on another page that is still waiting to run, and the click would be lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Literal

import streamlit as st

__all__ = ["COALESCE_MILLISECONDS", "KEY", "SEEN_WAIT_SECONDS", "Mode", "Wakeup", "mode", "mount", "pending"]

KEY: Final = "agentchat_wakeup"
COALESCE_MILLISECONDS: Final = 10
SEEN_WAIT_SECONDS: Final = 1.0
OPEN_TIMEOUT_MILLISECONDS: Final = 6000  # a stream not open by then is `down` (the timer stays)
CLOSE_LATER_MILLISECONDS: Final = 5000  # an unmounted element's stream lives on this long, for the next page

Mode = Literal["change", "clock", "poll"]

_JS: Final = """
const streams = (window.__agentchatStreams ||= new Map());

function link(url) {
  let entry = streams.get(url);
  if (entry) return entry;
  entry = { listeners: new Set(), highest: 0, sent: 0, timer: null, closeTimer: null, state: "connecting", reason: "",
            clockMs: 0, clock: null, clockMsRunning: 0 };
  const source = new EventSource(url + "/api/chat/stream");
  entry.source = source;
  const tell = (kind) => entry.listeners.forEach((listener) => listener(kind));
  const report = (state, reason) => {
    if (entry.state === state && entry.reason === reason) return;
    entry.state = state; entry.reason = reason;
    retime(entry);
    entry.listeners.forEach((listener) => listener("state"));
  };
  const opening = setTimeout(() => { if (entry.state !== "open") report("down", "no stream within 6 s"); },
                             OPEN_TIMEOUT);
  source.onopen = () => { clearTimeout(opening); report("open", ""); tell("ready"); };
  source.onmessage = (event) => {
    const id = Number(event.lastEventId) || 0;
    if (id > entry.highest) entry.highest = id;
    if (entry.timer === null) {
      entry.timer = setTimeout(() => { entry.timer = null; tell("message"); }, COALESCE);
    }
  };
  source.addEventListener("unavailable", () => tell("unavailable"));
  source.onerror = () => {
    const reason = source.readyState === EventSource.CLOSED ? "the hub refused the stream" : "the stream dropped";
    report("down", reason);
    tell("error");
  };
  streams.set(url, entry);
  return entry;
}

// While no stream is open the fragment is woken by the clock instead, every `clockMs` (0: never).
function retime(entry) {
  const wanted = entry.state === "open" ? 0 : entry.clockMs;
  if (wanted === entry.clockMsRunning) return;
  clearInterval(entry.clock);
  entry.clock = wanted ? setInterval(() => entry.listeners.forEach((listener) => listener("clock")), wanted) : null;
  entry.clockMsRunning = wanted;
}

export default function ({ data, setTriggerValue, setStateValue }) {
  const entry = link(data.hub_url);
  clearTimeout(entry.closeTimer);
  entry.listeners.clear();  // this mount's callbacks replace the last one's
  const listener = (kind) => {
    if (kind === "state") {
      setStateValue("link", entry.state === "open" ? "open" : "down: " + entry.reason);
      return;
    }
    entry.sent += 1;
    setTriggerValue("news", { kind, id: entry.highest, n: entry.sent });
  };
  entry.listeners.add(listener);
  entry.clockMs = data.clock_ms;
  retime(entry);
  if (entry.state !== "connecting") listener("state");
  return () => {
    entry.listeners.delete(listener);
    entry.closeTimer = setTimeout(() => {
      if (entry.listeners.size === 0) {
        entry.source.close(); clearInterval(entry.clock); streams.delete(data.hub_url);
      }
    }, CLOSE_LATER);
  };
}
"""

_element = st.components.v2.component(
    "agentchat_wakeup",
    html="",
    js=_JS.replace("OPEN_TIMEOUT", str(OPEN_TIMEOUT_MILLISECONDS))
    .replace("COALESCE", str(COALESCE_MILLISECONDS))
    .replace("CLOSE_LATER", str(CLOSE_LATER_MILLISECONDS)),
)


@dataclass(frozen=True, slots=True)
class Wakeup:
    """What the element said: the stream's state, and what woke this rerun (None: not the element)."""

    link: str | None  # "open", "down: <reason>", or None before the element reported
    kind: str | None  # "message", "ready", "error", "unavailable", "clock"
    message_id: int

    @property
    def open(self) -> bool:
        return self.link == "open"


def pending() -> Wakeup:
    """The element's values as this rerun starts (before `mount` draws it): what woke it, and the link."""
    value: Any = st.session_state.get(KEY)
    link = getattr(value, "link", None) if value is not None else None
    news = getattr(value, "news", None) if value is not None else None
    if isinstance(value, dict):
        link, news = value.get("link"), value.get("news")
    kind, message_id = None, 0
    if isinstance(news, dict):
        kind = str(news.get("kind")) if news.get("kind") else None
        raw_id = news.get("id")
        message_id = raw_id if isinstance(raw_id, int) else 0
    return Wakeup(str(link) if isinstance(link, str) else None, kind, message_id)


def mount(hub_url: str, clock_seconds: float | None) -> None:
    """Draw the (invisible) element, inside the fragment it is to rerun.

    `clock_seconds`: how often the element wakes the fragment while it holds no stream (None: never).
    """
    _element(
        key=KEY,
        data={"hub_url": hub_url, "clock_ms": round(clock_seconds * 1000) if clock_seconds else 0},
        height=0,
        on_news_change=_ignore,
        on_link_change=_ignore,
    )


def mode(redraw: str, feed_live: bool, wakeup: Wakeup) -> Mode:
    """How this session's live area is redrawn now: on change, by the clock, or by the poll's autorefresh."""
    if not feed_live:
        return "poll"
    return "change" if redraw == "change" and wakeup.open else "clock"


def _ignore() -> None:
    """A trigger's callback: the rerun it causes is what is wanted, the fragment reads the value itself."""
