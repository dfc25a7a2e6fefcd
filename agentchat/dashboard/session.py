"""What every page of one script run draws from: the settings, the viewer, the sidebar and the session's feed.

The entry script (`navigation.run`) calls `start()` (page setup, settings, the sidebar, this
session's feed) and then runs the page the operator chose; each page takes the `Dashboard` that
`start()` built with `current()`. The sidebar lives in the entry point so its widgets, and the view
they describe, survive a change of page. Generate is the sidebar's button, so the round it asks
for is made here, before any page is drawn, and the page drawn next shows it.

The pages import this module and the shared parts (`redraw`, `board`, `formatting`, `feed`,
`hub_cache`), never each other; nothing here imports a page.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import streamlit as st

from agentchat.agents import Agent
from agentchat.client import RealtimeAgentMessages
from agentchat.dashboard import access
from agentchat.dashboard.feed import FeedConfig, session_feed, wait_until_seen
from agentchat.dashboard.formatting import escape_markdown
from agentchat.dashboard.hub_api import HubApi
from agentchat.errors import AgentchatError
from agentchat.settings import Settings, load_settings

__all__ = ["LAYOUTS", "Controls", "Dashboard", "current", "note_request", "start"]

LAYOUTS: Final = ("Columns", "Timeline", "Tabs")
GENERATE_WAIT_SECONDS: Final = 1.5  # after Generate, how long the page waits for the round to arrive
ROSTER_CACHE_SECONDS: Final = 30

# Session-state keys of the sidebar's widgets, and of what the pages share within one run.
AGENTS_KEY, LAYOUT_KEY, SSE_KEY, POLLING_KEY, POLL_SECONDS_KEY = "agents", "layout", "sse", "polling", "poll_seconds"
_VIEW_KEY = "_agentchat_view"
_CONTEXT_KEY = "_agentchat_dashboard"
_GENERATE_REQUESTED = "_agentchat_generate_requested"


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


def note_request(flag: str) -> None:
    """A button's `on_click`: note the request for this run to act on.

    A callback, not the button's return value: the callback is registered under the id the browser
    clicked, which a session's second run may not give the button again (see `_sidebar`).
    """
    st.session_state[flag] = True


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
                on_click=note_request,
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
