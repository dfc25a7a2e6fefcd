"""The Diagnostics page: the feed's inner state, the hub's health, delivery latencies, the connection test.

The figures are a fragment rerun every second whatever the session's redraw mode (`redraw`): the
heartbeat's age and the counters move without a message. The connection test runs the checks of
`python -m agentchat check` (`probe`) from the dashboard's process, for operators only.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

import streamlit as st

from agentchat.dashboard import access, hub_cache, redraw
from agentchat.dashboard.formatting import (
    check_rows,
    empty_hint,
    escape_markdown,
    latency_summary,
    model_notice,
    pill_markdown,
    pill_text,
)
from agentchat.dashboard.session import Dashboard, current, note_request
from agentchat.errors import AgentchatError
from agentchat.probe import outline, run_checks, summary

__all__ = ["diagnostics_page"]

DIAGNOSTICS_REFRESH_SECONDS: Final = 1.0
CHECK_TIMEOUT_SECONDS: Final = 10.0
_CHECKS_KEY = "_agentchat_checks"
_CHECK_REQUESTED = "_agentchat_check_requested"


def diagnostics_page() -> None:
    """The feed's inner state, the hub's health, delivery latencies, and the connection test."""
    dashboard = current()
    st.title("Diagnostics")
    st.fragment(run_every=DIAGNOSTICS_REFRESH_SECONDS)(_diagnostics_area)(dashboard)
    st.subheader("Connection test")
    st.caption(f"The checks of `python -m agentchat check` against `{dashboard.settings.hub_url}`: {outline()}.")
    if dashboard.viewer.operator:
        st.button("Run connection test", type="primary", on_click=note_request, args=(_CHECK_REQUESTED,))
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
            health = hub_cache.health(dashboard.settings.hub_url)
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
