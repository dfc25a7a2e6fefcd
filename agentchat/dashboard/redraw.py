"""When a page's live area is redrawn: on change, by the clock, or by the poll's autorefresh.

Three modes (`wakeup.mode`), one per session, chosen again at every rerun:

- **change** (the default while SSE is up): the live area is a fragment rerun when the browser's
  stream says a message arrived or the stream changed state (`wakeup`), and otherwise only every
  `AGENTCHAT_DASHBOARD_REFRESH_SECONDS` (60 s), for what moves with time on the server's side (the
  counts over the retention window, the model's notice): the element moves the cards' ages by the
  browser's clock. (With an element per card, every `AGENTCHAT_DASHBOARD_AGE_SECONDS`, 15 s, so
  that ages, "10 s ago", move.) A session that nothing happens to costs the server and the
  operator's browser almost nothing: a rerun redraws the live area in the browser too, about 0.1 s
  of its CPU, so 25 open pages rerun every 15 s kept a sixth of a core busy doing nothing.
- **clock**: the fragment reruns every `AGENTCHAT_DASHBOARD_CLOCK_SECONDS` (1 s), as before this mode
  existed. A session falls back to it while its browser cannot hold the stream (another host, a
  refused origin): the wake-up element then wakes the fragment by that clock itself.
  `AGENTCHAT_DASHBOARD_REDRAW=clock` keeps every session in it with the fragment's own `run_every`
  and no element (the bench's old row).
- **poll**: SSE is down or off; `st_autorefresh` reruns the whole page every poll interval (every
  few seconds in the error state, so a hub that comes back shows up soon), and each rerun polls.

Between change and clock the fragment's own timer stays the same (the slow age tick), so that switch
costs no full rerun. A full rerun asked for by the fragment would carry the page it was drawn on,
and Streamlit folds it into a pending page switch, which then goes back to that page: an operator's
click on another page would be lost. Only polling starting or ending asks for one, because the
autorefresh is drawn outside the fragment. A rerun woken by a message waits briefly for the
session's feed to have read it (`wakeup.SEEN_WAIT_SECONDS`): the browser's stream and the feed's are
two connections, either may be first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import streamlit as st
from streamlit_autorefresh import st_autorefresh

from agentchat.client import RealtimeAgentMessages
from agentchat.dashboard import wakeup
from agentchat.dashboard.feed import wait_until_seen, wait_while_connecting
from agentchat.dashboard.session import Dashboard

__all__ = [
    "ERROR_REFRESH_SECONDS",
    "LIVE_STATES",
    "STATE_WAIT_SECONDS",
    "current_mode",
    "live_fragment",
    "mode_text",
    "mount_wakeup",
]

LIVE_STATES: Final = ("realtime", "connecting")
ERROR_REFRESH_SECONDS: Final = 5.0
_HOLDERS: Final = {
    "held": " (this tab holds it for the browser's other dashboard tabs)",
    "shared": " (another dashboard tab of this browser holds it, and shares it with this one)",
    "own": " (this tab's own: the browser cannot share it between tabs)",
}
STATE_WAIT_SECONDS: Final = 2.0  # after the browser's stream failed, how long a rerun waits for the feed to notice


def current_mode(dashboard: Dashboard, woke: wakeup.Wakeup | None = None) -> wakeup.Mode:
    """This session's mode now (see the module docstring)."""
    live = dashboard.feed.state in LIVE_STATES
    return wakeup.mode(_redraw(dashboard), live, woke if woke is not None else wakeup.pending())


def live_fragment(dashboard: Dashboard, body: Callable[[Dashboard], None], autorefresh_key: str) -> None:
    """Draw `body` as the page's live fragment, rerun by the session's mode; autorefresh while polling."""
    mode = current_mode(dashboard)
    st.fragment(run_every=_fragment_timer(dashboard, mode))(_area)(dashboard, body, mode)
    if mode == "poll":
        interval = dashboard.controls.poll_seconds
        if dashboard.feed.state == "error":
            interval = min(interval, ERROR_REFRESH_SECONDS)
        st_autorefresh(interval=int(interval * 1000), key=autorefresh_key)


def mode_text(dashboard: Dashboard) -> str:
    """One line for the Diagnostics page: how this session is redrawn, and why."""
    woke = wakeup.pending()
    mode = current_mode(dashboard, woke)
    settings = dashboard.settings
    if mode == "change":
        holder = _HOLDERS.get(woke.role, "")
        ages = (
            f"the cards' ages move in the browser, the figures every {settings.dashboard_refresh_seconds:g} s"
            if settings.dashboard_cards == "element"
            else f"ages move every {settings.dashboard_age_seconds:g} s"
        )
        return f"on change: the browser holds a stream to `{settings.hub_url}`{holder}; {ages}"
    if mode == "poll":
        return f"polling: the page reruns every {dashboard.controls.poll_seconds:g} s (SSE is down or off)"
    why = "AGENTCHAT_DASHBOARD_REDRAW=clock"
    if _redraw(dashboard) == "change":
        why = f"the browser's stream to the hub: {woke.link}" if woke.link else "the browser's stream is not open yet"
    return f"by the clock, every {settings.dashboard_clock_seconds:g} s ({why})"


def mount_wakeup(dashboard: Dashboard, mode: wakeup.Mode | None = None) -> None:
    """The wake-up element, where the session redraws on change (nothing in clock mode or with SSE off).

    Inside the live fragment (`mode` given) it also stands in for the clock while it holds no stream;
    elsewhere (the Diagnostics page) it only keeps the stream, and its state known.
    """
    if _redraw(dashboard) == "change":
        ticking = mode is not None and mode != "poll"
        clock = dashboard.settings.dashboard_clock_seconds if ticking else None
        since = dashboard.feed.snapshot().diagnostics.last_event_id or 0
        wakeup.mount(dashboard.settings.hub_url, clock, since, dashboard.controls.poll_seconds)


def _fragment_timer(dashboard: Dashboard, mode: wakeup.Mode) -> float | None:
    """The fragment's own `run_every`: the clock where no element is drawn, else the slow refresh (or age tick)."""
    if mode == "poll":
        return None
    settings = dashboard.settings
    if _redraw(dashboard) == "clock":
        return settings.dashboard_clock_seconds
    if settings.dashboard_cards == "element":
        return settings.dashboard_refresh_seconds
    return settings.dashboard_age_seconds


def _redraw(dashboard: Dashboard) -> str:
    return dashboard.settings.dashboard_redraw if dashboard.controls.enable_sse else "clock"


def _area(dashboard: Dashboard, body: Callable[[Dashboard], None], mode: wakeup.Mode) -> None:
    woke = wakeup.pending()
    _catch_up(dashboard.feed, woke)
    now = current_mode(dashboard, woke)
    if (now == "poll") != (mode == "poll"):
        st.rerun()  # polling starts or ends: the autorefresh outside the fragment is drawn or removed
    mount_wakeup(dashboard, now)
    body(dashboard)


def _catch_up(feed: RealtimeAgentMessages, woke: wakeup.Wakeup) -> None:
    """Let the feed read what woke this rerun, so it is drawn now rather than at the next wake-up.

    The browser's stream opening (`ready`) before the session's feed has connected would otherwise
    leave the pill at "Connecting" until the next refresh, a minute away."""
    if woke.kind == "message" and woke.message_id:
        wait_until_seen(feed, woke.message_id, wakeup.SEEN_WAIT_SECONDS)
    elif woke.kind in ("error", "unavailable") and feed.state == "realtime":
        feed.wait_for_change(feed.snapshot().version, STATE_WAIT_SECONDS)
    elif woke.kind == "ready":
        wait_while_connecting(feed, STATE_WAIT_SECONDS)
