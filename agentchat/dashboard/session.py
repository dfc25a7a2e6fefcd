"""What the operator sees: the sidebar, the live chat page, the Leaderboard and the Diagnostics page.

The entry script (`navigation.run`) calls `start()` (page setup, settings, the sidebar, this
session's feed) and then runs the page the operator chose, `live_page` or the Diagnostics page file
(`diagnostics_page`). The sidebar lives in the entry point so its widgets, and the view they
describe, survive a change of page.

Refresh (`redraw`). While SSE is up the live part of the page is a fragment rerun when something
changed: the browser's own stream to the hub wakes it (`wakeup`), and a slow tick moves the ages.
Where the browser cannot hold that stream, the fragment is rerun every second instead, as it was
before. Elements that did not change are not redrawn by Streamlit's frontend, so nothing flickers,
and a fragment rerun leaves the sidebar, scroll position and tab alone. While SSE is down
`st_autorefresh` reruns the page every poll interval, and each rerun has the feed poll at once
(`poll_now`), so what is drawn is never more than one interval old.

The cards are one element (`board`), drawn in the browser by the viewer page's renderer from the
messages the session's feed holds; `AGENTCHAT_DASHBOARD_CARDS=elements` keeps the element-per-card
drawing below for one release. Agent text is always text: the element sets it with `textContent`;
in the element-per-card drawing message content goes through `st.text`, and the Markdown around
it (card and agent headings, the meta line, the status pill) is built by `formatting`, whose
`escape_markdown` every field from an agent or the network goes through.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import streamlit as st

from agentchat.agents import Agent
from agentchat.client import FeedSnapshot, RealtimeAgentMessages
from agentchat.dashboard import access, board, leaderboard, redraw
from agentchat.dashboard.feed import FeedConfig, session_feed, wait_until_seen
from agentchat.dashboard.formatting import (
    EMPTY_TEXT,
    GAP_TEXT,
    agent_heading,
    card_heading,
    check_rows,
    duration,
    escape_markdown,
    latency_summary,
    message_age_seconds,
    meta_line,
    model_notice,
    pill_markdown,
    pill_text,
    relative_age,
)
from agentchat.dashboard.hub_api import START_HINT, Health, HubApi
from agentchat.errors import AgentchatError
from agentchat.probe import outline, run_checks, summary
from agentchat.settings import Settings, load_settings

__all__ = [
    "EMPTY_TEXT",
    "Controls",
    "Dashboard",
    "current",
    "diagnostics_page",
    "empty_hint",
    "leaderboard_page",
    "live_page",
    "start",
]

LAYOUTS: Final = ("Columns", "Timeline", "Tabs")
_BOARD_LAYOUTS: Final[dict[str, board.Layout]] = {"Columns": "columns", "Timeline": "timeline", "Tabs": "tabs"}
LIVE_STATES: Final = redraw.LIVE_STATES
DIAGNOSTICS_REFRESH_SECONDS: Final = 1.0
POLL_WAIT_SECONDS: Final = 5.0  # how long a polling rerun waits for its poll
GENERATE_WAIT_SECONDS: Final = 1.5  # after Generate, how long the page waits for the round to arrive
ROSTER_CACHE_SECONDS: Final = 30
CHECK_TIMEOUT_SECONDS: Final = 10.0

# Session-state keys of the sidebar's widgets, and of what the pages share within one run.
AGENTS_KEY, LAYOUT_KEY, SSE_KEY, POLLING_KEY, POLL_SECONDS_KEY = "agents", "layout", "sse", "polling", "poll_seconds"
_VIEW_KEY = "_agentchat_view"
_CONTEXT_KEY = "_agentchat_dashboard"
_CHECKS_KEY = "_agentchat_checks"
_GENERATE_REQUESTED = "_agentchat_generate_requested"
_CHECK_REQUESTED = "_agentchat_check_requested"


# -- the context one script run works with ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Controls:
    """The sidebar's choices for this session."""

    agent_ids: tuple[str, ...]
    layout: str
    enable_sse: bool
    enable_polling: bool
    poll_seconds: float


@dataclass(frozen=True, slots=True)
class Dashboard:
    """What every page of one script run draws from."""

    settings: Settings
    roster: tuple[Agent, ...]
    controls: Controls
    feed: RealtimeAgentMessages
    viewer: access.Access  # who is looking, and whether they may act

    @property
    def agents(self) -> tuple[Agent, ...]:
        """The picked agents, in roster order."""
        return tuple(agent for agent in self.roster if agent.id in self.controls.agent_ids)

    def api(self) -> HubApi:
        return HubApi(self.settings.hub_url, self.settings.token)


def start() -> Dashboard:
    """Page setup, settings, the sidebar and the session's feed; the page run next takes it with `current()`."""
    st.set_page_config(page_title="agentchat", page_icon="💬", layout="wide")
    try:
        settings = load_settings()
    except AgentchatError as error:
        st.error(f"The dashboard cannot start: {error.detail}")
        st.stop()
    viewer = access.require_access(settings)  # a visitor's sign-in, or one line beyond loopback, end the run
    roster, roster_note = _roster(settings)
    controls = _sidebar(settings, roster, viewer)
    access.account_sidebar(viewer)
    if roster_note:
        st.sidebar.caption(f"Agents from this dashboard's own settings: {escape_markdown(roster_note)}")
    config = FeedConfig(
        settings.hub_url, controls.enable_sse, controls.enable_polling, controls.poll_seconds, settings.max_per_agent
    )
    dashboard = Dashboard(settings, roster, controls, session_feed().feed(config), viewer)
    if st.session_state.pop(_GENERATE_REQUESTED, False) and access.permits(viewer, "Generate messages"):
        _generate(dashboard)
    st.session_state[_CONTEXT_KEY] = dashboard
    return dashboard


def current() -> Dashboard:
    """The `Dashboard` that `start()` built in this run (taken, so a later run cannot see it), else a new one.

    "Else" is a page file run on its own (`streamlit run pages/1_Diagnostics.py`): it gets the sidebar too.
    """
    dashboard = st.session_state.pop(_CONTEXT_KEY, None)
    return dashboard if isinstance(dashboard, Dashboard) else start()


@st.cache_data(ttl=ROSTER_CACHE_SECONDS, show_spinner=False)
def _hub_roster(hub_url: str) -> tuple[Agent, ...]:
    return HubApi(hub_url, timeout_seconds=3).roster()


def _roster(settings: Settings) -> tuple[tuple[Agent, ...], str | None]:
    """The hub's roster; this process's own while the hub cannot be asked (failures are not cached)."""
    try:
        roster = _hub_roster(settings.hub_url)
        if roster:
            return roster, None
        note = "the hub's roster is empty"
    except AgentchatError as error:
        note = error.detail
    return settings.roster(), note


def _sidebar(settings: Settings, roster: Sequence[Agent], viewer: access.Access) -> Controls:
    """The sidebar's widgets; their values are also kept in `_VIEW_KEY`, the session's own copy.

    Streamlit gives the entry point's widgets other element ids in a session's very first run than
    in the runs after it, and a widget whose id changed starts again from its `value`/`default`.
    Passing the session's copy as that default keeps the view (including a change made in the
    first run, read from session state before the widgets are drawn).
    """
    names = {agent.id: agent.name for agent in roster}
    ids = list(names)
    state = st.session_state
    view: dict[str, Any] = state.setdefault(
        _VIEW_KEY,
        {
            AGENTS_KEY: ids,
            LAYOUT_KEY: LAYOUTS[0],
            SSE_KEY: True,
            POLLING_KEY: True,
            POLL_SECONDS_KEY: settings.poll_seconds,
        },
    )
    for key in view:
        if key in state:
            view[key] = state[key]
    picked = [agent_id for agent_id in view[AGENTS_KEY] if agent_id in names]
    view[AGENTS_KEY] = picked if picked or not view[AGENTS_KEY] else ids  # a wholly new roster: pick all

    with st.sidebar:
        view[AGENTS_KEY] = st.multiselect(
            "Agents", ids, default=view[AGENTS_KEY], format_func=lambda agent_id: names[agent_id], key=AGENTS_KEY
        )
        if viewer.operator:
            st.button(
                "Generate messages",
                on_click=_request,
                args=(_GENERATE_REQUESTED,),
                type="primary",
                width="stretch",
                disabled=not view[AGENTS_KEY],
                help="Ask the hub for one new message from each picked agent",
            )
        view[LAYOUT_KEY] = st.radio(
            "Layout", LAYOUTS, index=LAYOUTS.index(view[LAYOUT_KEY]), key=LAYOUT_KEY, horizontal=True
        )
        st.divider()
        view[SSE_KEY] = st.toggle(
            "Real-time (SSE)", value=view[SSE_KEY], key=SSE_KEY, help="Hold a Server-Sent Events stream to the hub"
        )
        view[POLLING_KEY] = st.toggle(
            "Fallback polling",
            value=view[POLLING_KEY],
            key=POLLING_KEY,
            help="Poll the hub over HTTP while SSE is down or off",
        )
        view[POLL_SECONDS_KEY] = st.number_input(
            "Poll interval (s)",
            min_value=1.0,
            max_value=3600.0,
            value=float(view[POLL_SECONDS_KEY]),
            step=1.0,
            format="%g",
            key=POLL_SECONDS_KEY,
            disabled=not view[POLLING_KEY],
        )
        st.caption(f"Hub: `{settings.hub_url}`")
    controls = Controls(
        agent_ids=tuple(view[AGENTS_KEY]),
        layout=str(view[LAYOUT_KEY]),
        enable_sse=bool(view[SSE_KEY]),
        enable_polling=bool(view[POLLING_KEY]),
        poll_seconds=float(view[POLL_SECONDS_KEY]),
    )
    return controls


def _request(flag: str) -> None:
    """A button's `on_click`: note the request for this run to act on.

    A callback, not the button's return value: the callback is registered under the id the browser
    clicked, which a session's second run may not give the button again (see `_sidebar`).
    """
    st.session_state[flag] = True


def _generate(dashboard: Dashboard) -> None:
    """POST a round for the picked agents; a toast says how many, the sidebar says why not."""
    try:
        made = dashboard.api().generate(dashboard.controls.agent_ids)
    except AgentchatError as error:
        st.toast("Generate failed", icon="⚠️")
        st.sidebar.error(f"Generate failed: {error.detail}")
        return
    st.toast(f"Generated {len(made)} message{'s' if len(made) != 1 else ''}", icon="✅")
    ids = [int(message["id"]) for message in made if isinstance(message.get("id"), int)]
    if ids and dashboard.feed.state == "realtime":  # draw them in this very run
        wait_until_seen(dashboard.feed, max(ids), GENERATE_WAIT_SECONDS)


# -- the live page ---------------------------------------------------------------------------------


def live_page() -> None:
    """The agents' chat: status, analytics and the messages, redrawn as they arrive."""
    dashboard = current()
    if dashboard.feed.state not in LIVE_STATES:
        dashboard.feed.poll_now(POLL_WAIT_SECONDS)  # this rerun is the poll: never a period behind
    redraw.live_fragment(dashboard, _live_area, "agentchat_autorefresh")


def _live_area(dashboard: Dashboard) -> None:
    snapshot = dashboard.feed.snapshot()
    now = datetime.now(UTC)
    _status(dashboard, snapshot)
    _model_notice(dashboard, snapshot)
    agents = dashboard.agents
    picked = {agent.id for agent in agents}
    messages = [message for message in snapshot.messages if message.get("agent_id") in picked]
    _analytics(dashboard, agents, messages, now)
    standings = st.container()  # drawn after the cards: a new message never waits for the books
    _chat(dashboard, snapshot, agents, messages, now)
    with standings:
        leaderboard.compact_standings(dashboard)


def _chat(
    dashboard: Dashboard,
    snapshot: FeedSnapshot,
    agents: Sequence[Agent],
    messages: Sequence[Mapping[str, Any]],
    now: datetime,
) -> None:
    if not agents:
        st.info("Pick at least one agent in the sidebar.")
        return
    if not messages and snapshot.state != "error":
        st.info(f"{EMPTY_TEXT} {empty_hint(dashboard.viewer.operator)}")
    layout = dashboard.controls.layout
    names_by_message_id = {int(message["id"]): str(message.get("agent_name", "")) for message in snapshot.messages}
    if dashboard.settings.dashboard_cards == "element":
        board.draw(_BOARD_LAYOUTS[layout], agents, messages, names_by_message_id)
    elif layout == "Timeline":
        _timeline(agents, messages, names_by_message_id, now)
    elif layout == "Tabs":
        _tabs(agents, messages, names_by_message_id, now)
    else:
        _columns(agents, messages, names_by_message_id, now)


def _status(dashboard: Dashboard, snapshot: FeedSnapshot) -> None:
    color, label, reason = pill_text(snapshot, dashboard.controls.enable_sse)
    st.markdown(pill_markdown(color, label, reason))
    if snapshot.state == "error":
        if not dashboard.controls.enable_sse and not dashboard.controls.enable_polling:
            st.warning("SSE and fallback polling are both off: switch one on in the sidebar to see messages.")
        else:
            st.error(
                f"The hub at `{dashboard.settings.hub_url}` is unreachable ({escape_markdown(reason)}). "
                f"{START_HINT[:1].upper()}{START_HINT[1:]}; this page reconnects by itself once the hub answers."
            )
    if snapshot.diagnostics.gap:
        st.warning(GAP_TEXT)


def _analytics(
    dashboard: Dashboard, agents: Sequence[Agent], messages: Sequence[Mapping[str, Any]], now: datetime
) -> None:
    """Four figures an operator reads at a glance, with short labels that fit a narrow column.

    (A bar chart of messages per agent used to stand here: every agent posts once a round, so it
    was flat at the per-agent cap and said nothing.)
    """
    retention = dashboard.settings.retention_seconds
    ages = {int(message["id"]): message_age_seconds(message, now) for message in messages}
    recent = [message for message in messages if (ages[int(message["id"])] or 0.0) <= retention]
    counts = Counter(str(message.get("agent_id")) for message in recent)
    silent = [agent.name for agent in agents if not counts[agent.id]]
    newest_age = ages[int(messages[0]["id"])] if messages else None
    window, active, trades, last = st.columns(4)
    window.metric(
        "Messages",
        len(recent),
        help=f"Messages of the picked agents in the hub's retention window ({duration(retention)}), counted over"
        f" the {dashboard.settings.max_per_agent} kept per agent",
        border=True,
    )
    active.metric(
        "Active agents",
        f"{len(agents) - len(silent)} / {len(agents)}",
        help=f"Silent in the last {duration(retention)}: {', '.join(silent)}"
        if silent
        else "Every picked agent posted",
        border=True,
    )
    trades.metric(
        "Trades",
        sum(1 for message in recent if message.get("kind") == "trade"),
        help=f"Messages of kind trade in the last {duration(retention)}",
        border=True,
    )
    last.metric("Last message", relative_age(newest_age) if newest_age is not None else "—", border=True)


def _columns(
    agents: Sequence[Agent], messages: Sequence[Mapping[str, Any]], names: Mapping[int, str], now: datetime
) -> None:
    _agent_panels(agents, st.columns(len(agents)), messages, names, now)


def _tabs(
    agents: Sequence[Agent], messages: Sequence[Mapping[str, Any]], names: Mapping[int, str], now: datetime
) -> None:
    tabs = st.tabs([escape_markdown(agent.name) for agent in agents], key="agent_tabs")
    _agent_panels(agents, tabs, messages, names, now)


def _agent_panels(
    agents: Sequence[Agent],
    panels: Sequence[Any],
    messages: Sequence[Mapping[str, Any]],
    names: Mapping[int, str],
    now: datetime,
) -> None:
    """One panel (column or tab) per agent: its header, then its own messages."""
    for agent, panel in zip(agents, panels, strict=True):
        with panel:
            st.markdown(agent_heading(agent))
            _cards([m for m in messages if m.get("agent_id") == agent.id], names, now)


def _timeline(
    agents: Sequence[Agent], messages: Sequence[Mapping[str, Any]], names: Mapping[int, str], now: datetime
) -> None:
    by_id = {agent.id: agent for agent in agents}
    _, middle, _ = st.columns([1, 4, 1])
    with middle:
        _cards(messages, names, now, by_id)


def _cards(
    messages: Sequence[Mapping[str, Any]],
    names: Mapping[int, str],
    now: datetime,
    agents_by_id: Mapping[str, Agent] | None = None,
) -> None:
    """Message cards, newest first; with `agents_by_id` each card also names its agent (the timeline)."""
    if not messages:
        st.caption(EMPTY_TEXT)
        return
    for message in messages:
        with st.container(border=True, key=f"message-{int(message['id'])}"):
            st.markdown(card_heading(message, now, agents_by_id))
            st.text(str(message.get("content", "")))
            meta = meta_line(message, names)
            if meta:
                st.caption(escape_markdown(meta))


def empty_hint(operator: bool) -> str:
    """What brings the first messages: Generate for an operator; a read-only user can only wait."""
    if operator:
        return "Press **Generate messages** in the sidebar, or wait for the scheduler's next round."
    return "They appear with the scheduler's next round."


# -- the Leaderboard page --------------------------------------------------------------------------


def leaderboard_page() -> None:
    """The agents' books ranked, their equity curves and one agent's trades (`leaderboard`)."""
    leaderboard.draw_page(current())


# -- the Diagnostics page --------------------------------------------------------------------------


@st.cache_data(ttl=2, show_spinner=False)
def _health(hub_url: str) -> Health:
    return HubApi(hub_url, timeout_seconds=2).health()


def _model_notice(dashboard: Dashboard, snapshot: FeedSnapshot) -> None:
    """On the live page, while the newest message is the offline writer's, whether the model is failing.

    Asked only then (and answered from the 2 s cache), so a healthy model costs the live area nothing.
    """
    newest = max(snapshot.messages, key=lambda message: int(message.get("id") or 0), default=None)
    meta = newest.get("meta") if newest is not None else None
    if not isinstance(meta, Mapping) or meta.get("writer") != "offline" or snapshot.state not in LIVE_STATES:
        return
    try:
        health = _health(dashboard.settings.hub_url)
    except AgentchatError:
        return  # the pill says what is wrong with the hub
    notice = model_notice(health.payload.get("generator"))
    if notice:
        st.warning(notice)


def diagnostics_page() -> None:
    """The feed's inner state, the hub's health, delivery latencies, and the connection test."""
    dashboard = current()
    st.title("Diagnostics")
    st.fragment(run_every=DIAGNOSTICS_REFRESH_SECONDS)(_diagnostics_area)(dashboard)
    st.subheader("Connection test")
    st.caption(f"The checks of `python -m agentchat check` against `{dashboard.settings.hub_url}`: {outline()}.")
    if dashboard.viewer.operator:
        st.button("Run connection test", type="primary", on_click=_request, args=(_CHECK_REQUESTED,))
    else:
        st.caption(access.READ_ONLY_NOTE)
    if st.session_state.pop(_CHECK_REQUESTED, False) and access.permits(dashboard.viewer, "the connection test"):
        with st.spinner("Running the checks…"):
            results = run_checks(dashboard.settings.hub_url, dashboard.settings.token, CHECK_TIMEOUT_SECONDS)
        st.session_state[_CHECKS_KEY] = (datetime.now(UTC), results)
    ran = st.session_state.get(_CHECKS_KEY)
    if ran is not None:
        ran_at, results = ran
        line = summary(results, dashboard.settings.hub_url)
        (st.success if all(result.passed for result in results) else st.error)(
            f"{escape_markdown(line)} at {ran_at:%H:%M:%S} UTC"
        )
        st.table(check_rows(results), hide_index=True)


def _diagnostics_area(dashboard: Dashboard) -> None:
    redraw.mount_wakeup(dashboard)  # the stream stays open, and its state known, while this page is shown
    snapshot = dashboard.feed.snapshot()
    diagnostics = snapshot.diagnostics
    color, label, reason = pill_text(snapshot, dashboard.controls.enable_sse)
    st.markdown(pill_markdown(color, label, reason))
    heartbeat_age = diagnostics.heartbeat_age_seconds()
    state, heartbeat, events, reconnects = st.columns(4)
    state.metric("State", snapshot.state, border=True)
    heartbeat.metric(
        "Last heartbeat",
        f"{heartbeat_age:.1f} s ago" if heartbeat_age is not None else "none yet",
        help=f"The hub's period: {diagnostics.heartbeat_seconds:g} s" if diagnostics.heartbeat_seconds else None,
        border=True,
    )
    events.metric("Events received", diagnostics.events_received, border=True)
    reconnects.metric("Reconnects", diagnostics.reconnects, border=True)
    last_id, received, duplicates, polls = st.columns(4)
    last_id.metric(
        "Last event id", diagnostics.last_event_id if diagnostics.last_event_id is not None else "—", border=True
    )
    received.metric("Messages received", diagnostics.messages_received, border=True)
    duplicates.metric("Duplicates dropped", diagnostics.duplicates_dropped, border=True)
    polls.metric("Fallback polls", diagnostics.polls, border=True)

    st.markdown(f"**Hub URL** `{dashboard.settings.hub_url}`")
    st.markdown(f"**Redraw** {redraw.mode_text(dashboard)}")
    st.markdown("**Last error**")
    st.text(diagnostics.last_error or "none")
    if diagnostics.gap:
        st.warning("A resume found messages already removed by retention (gap).")

    health_column, latency_column = st.columns(2)
    with health_column:
        st.markdown("**Hub health** · `GET /healthz`")
        try:
            health = _health(dashboard.settings.hub_url)
        except AgentchatError as error:
            st.error(escape_markdown(error.detail))
        else:
            badge = "green" if health.healthy else "red"
            st.markdown(
                f":{badge}-badge[HTTP {health.status_code} {escape_markdown(str(health.payload.get('status')))}]"
            )
            st.table([{"field": key, "value": str(value)} for key, value in health.payload.items()], hide_index=True)
            notice = model_notice(health.payload.get("generator"))
            if notice:
                st.warning(notice)
    with latency_column:
        latencies_ms = [round(seconds * 1000, 1) for seconds in diagnostics.latencies_seconds]
        st.markdown("**Delivery latency** (message `created_at` to arrival here, ms)")
        if latencies_ms:
            st.line_chart({"latency (ms)": latencies_ms}, height=220, x_label="recent deliveries, oldest first")
            st.caption(latency_summary(latencies_ms))
        else:
            st.caption(f"No live deliveries yet. {empty_hint(dashboard.viewer.operator)}")
