"""The live chat page: the feed's status, four figures at a glance, the agents' messages, a line of standings.

The figures, the cards and the standings are drawn in the browser by the live chat element (`board`,
the viewer page's renderer, which sets agent text with `textContent`): the page computes them
(`figures`, `standings_line`) and hands them over as data. Streamlit's own elements cost the
operator's browser a React redraw each at every rerun of the live area, four bordered metrics and a
Markdown line more than the element that draws the same in a few text nodes (`bench/dashboard.py`).
`AGENTCHAT_DASHBOARD_CARDS=elements` keeps the element-per-card drawing below for one release: there
message content goes through `st.text`, the figures are `st.metric`s and the standings a Markdown
line, and the Markdown around the cards (card and agent headings, the meta line, the status pill)
is built by `formatting`.

The live area is redrawn as `redraw` decides (on change, by the clock, or by the poll's
autorefresh); a polling rerun has the feed poll at once (`poll_now`), so what is drawn is never more
than one interval old.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

import streamlit as st

from agentchat.agents import Agent
from agentchat.client import FeedSnapshot
from agentchat.dashboard import board, hub_cache, redraw
from agentchat.dashboard.board import Figure, StandingsLine
from agentchat.dashboard.formatting import (
    EMPTY_TEXT,
    GAP_TEXT,
    agent_heading,
    card_heading,
    colored,
    duration,
    empty_hint,
    escape_markdown,
    message_age_seconds,
    meta_line,
    model_notice,
    pill_markdown,
    pill_text,
    relative_age,
)
from agentchat.dashboard.hub_api import START_HINT
from agentchat.dashboard.session import Dashboard, current
from agentchat.dashboard.standings import next_round_text, pct, round_status, standings, whole_money
from agentchat.errors import AgentchatError

__all__ = ["figures", "live_page", "standings_line"]

_BOARD_LAYOUTS: Final[dict[str, board.Layout]] = {"Columns": "columns", "Timeline": "timeline", "Tabs": "tabs"}
POLL_WAIT_SECONDS: Final = 5.0  # how long a polling rerun waits for its poll


def live_page() -> None:
    """The agents' chat: status, analytics and the messages, redrawn as they arrive."""
    dashboard = current()
    if dashboard.feed.state not in redraw.LIVE_STATES:
        dashboard.feed.poll_now(POLL_WAIT_SECONDS)  # this rerun is the poll: never a period behind
    redraw.live_fragment(dashboard, _live_area, "agentchat_autorefresh")


def _live_area(dashboard: Dashboard) -> None:
    """The live fragment's body. What asks the hub (the model's health, the books) is drawn after the
    cards into places kept for it above them: a new message never waits for a request."""
    snapshot = dashboard.feed.snapshot()
    now = datetime.now(UTC)
    _status(dashboard, snapshot)
    notice = st.empty()
    agents = dashboard.agents
    picked = {agent.id for agent in agents}
    messages = [message for message in snapshot.messages if message.get("agent_id") in picked]
    at_a_glance = figures(dashboard, agents, messages, now)
    in_element = dashboard.settings.dashboard_cards == "element"
    if not in_element:
        _metrics(at_a_glance)
    standings_place = st.empty()
    _chat(dashboard, snapshot, agents, messages, now, at_a_glance)
    with notice:
        _model_notice(dashboard, snapshot)
    with standings_place:
        _standings(dashboard, in_element)


def _chat(
    dashboard: Dashboard,
    snapshot: FeedSnapshot,
    agents: Sequence[Agent],
    messages: Sequence[Mapping[str, Any]],
    now: datetime,
    at_a_glance: Sequence[Figure],
) -> None:
    if not agents:
        st.info("Pick at least one agent in the sidebar.")
        return
    if not messages and snapshot.state != "error":
        st.info(f"{EMPTY_TEXT} {empty_hint(dashboard.viewer.operator)}")
    layout = dashboard.controls.layout
    names_by_message_id = {int(message["id"]): str(message.get("agent_name", "")) for message in snapshot.messages}
    if dashboard.settings.dashboard_cards == "element":
        preview = None
        if redraw.current_mode(dashboard) == "change":  # the browser holds a stream: it may draw arrivals
            through = snapshot.diagnostics.last_event_id or 0
            preview = board.Preview(dashboard.settings.hub_url, through, dashboard.settings.max_per_agent)
        board.draw(_BOARD_LAYOUTS[layout], agents, messages, names_by_message_id, at_a_glance, preview)
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


def _model_notice(dashboard: Dashboard, snapshot: FeedSnapshot) -> None:
    """While the newest message is the offline writer's, whether the model is failing.

    Asked only then (and answered from the 2 s cache), so a healthy model costs the live area nothing.
    """
    newest = snapshot.messages[0] if snapshot.messages else None  # the feed holds them newest first
    meta = newest.get("meta") if newest is not None else None
    if not isinstance(meta, Mapping) or meta.get("writer") != "offline" or snapshot.state not in redraw.LIVE_STATES:
        return
    try:
        health = hub_cache.health(dashboard.settings.hub_url)
    except AgentchatError:
        return  # the pill says what is wrong with the hub
    notice = model_notice(health.payload.get("generator"))
    if notice:
        st.warning(notice)


def figures(
    dashboard: Dashboard, agents: Sequence[Agent], messages: Sequence[Mapping[str, Any]], now: datetime
) -> list[Figure]:
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
    return [
        Figure(
            "Messages",
            str(len(recent)),
            f"Messages of the picked agents in the hub's retention window ({duration(retention)}), counted over"
            f" the {dashboard.settings.max_per_agent} kept per agent",
        ),
        Figure(
            "Active agents",
            f"{len(agents) - len(silent)} / {len(agents)}",
            f"Silent in the last {duration(retention)}: {', '.join(silent)}" if silent else "Every picked agent posted",
        ),
        Figure(
            "Trades",
            str(sum(1 for message in recent if message.get("kind") == "trade")),
            f"Messages of kind trade in the last {duration(retention)}",
        ),
        Figure(
            "Last message",
            relative_age(newest_age) if newest_age is not None else "—",
            since=str(messages[0].get("created_at")) if newest_age is not None else None,
        ),
    ]


def _metrics(at_a_glance: Sequence[Figure]) -> None:
    """The figures as Streamlit metrics (the element-per-card drawing)."""
    for column, figure in zip(st.columns(len(at_a_glance)), at_a_glance, strict=True):
        column.metric(figure.label, figure.value, help=figure.help or None, border=True)


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


def _standings(dashboard: Dashboard, in_element: bool) -> None:
    line = standings_line(dashboard)
    if in_element:
        board.draw_standings(line)
    else:
        _standings_markdown(line)


def standings_line(dashboard: Dashboard) -> StandingsLine | str:
    """The books in one line (the Leaderboard's own reads, `hub_cache`), or why they cannot be read."""
    try:
        performance = hub_cache.performance(dashboard.settings.hub_url, hub_cache.round_marker(dashboard.feed))
    except AgentchatError as error:
        return f"Standings unavailable: {error.detail}"
    _, status = round_status(performance, dashboard.roster)
    when = next_round_text(dashboard.settings.schedule_minutes, datetime.now(UTC))
    caption = f"{status} · {when} · the Leaderboard page has the details"
    return StandingsLine(standings(performance, dashboard.roster), caption)


def _standings_markdown(line: StandingsLine | str) -> None:
    """One Markdown line, each agent by rank in its colour (the element-per-card drawing)."""
    if isinstance(line, str):
        st.caption(escape_markdown(line))
        return
    if not line.rows:
        return
    with st.container(border=True, key="compact-standings"):
        st.markdown(
            " · ".join(
                f"**{row.rank}\\. {colored(row.agent.name, board.name_color(row.agent.color))}** "
                f"{escape_markdown(whole_money(row.equity))} {escape_markdown(pct(row.return_pct))}"
                for row in line.rows
            )
        )
        st.caption(escape_markdown(line.caption))
