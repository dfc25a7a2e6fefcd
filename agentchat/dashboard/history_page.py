"""The History page: every message the hub keeps (`AGENTCHAT_HISTORY_DAYS`), filtered, searched, paged, exported.

The filters become the query of `GET /api/chat/history` (`HistoryFilter`, shared with the hub),
so what the table shows, what the pages step through and what the export holds are one
selection. Pages step by id (`before_id`), newest first: the page an operator reads does not shift
while new rounds arrive. The export is made by the hub, streamed, when the button is clicked.
Message text is shown in a dataframe, as text; an agent's name links to its page.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Final

import streamlit as st

from agentchat.dashboard.agent_figures import message_rows
from agentchat.dashboard.formatting import escape_markdown
from agentchat.dashboard.history_api import export, read_history_page
from agentchat.dashboard.session import Dashboard, current
from agentchat.errors import AgentchatError
from agentchat.history import SIDES, HistoryFilter
from agentchat.message import MESSAGE_KINDS

__all__ = ["PAGE_SIZE", "draw_page", "history_page", "selection_of"]

PAGE_SIZE: Final = 50
_CURSOR_KEY = "history_cursor"  # the before_ids of the pages stepped through (empty: the newest page)
_SELECTION_KEY = "history_selection"  # the selection the cursor belongs to
ANY_SIDE = "any"


def selection_of(
    agents: Sequence[str],
    kinds: Sequence[str],
    symbol: str,
    side: str,
    text: str,
    first_day: date | None,
    last_day: date | None,
) -> HistoryFilter:
    """The widgets' values as a filter; the days are whole UTC days, both included."""
    return HistoryFilter(
        agents=frozenset(agents),
        kinds=frozenset(kinds),
        symbol=symbol.strip().upper() or None,
        side=side if side in SIDES else None,
        text=text.strip() or None,
        since=datetime.combine(first_day, time(), UTC) if first_day else None,
        until=datetime.combine(last_day + timedelta(days=1), time(), UTC) if last_day else None,
    )


def _filters(dashboard: Dashboard) -> HistoryFilter:
    names = {agent.id: agent.name for agent in dashboard.roster}
    text = st.text_input("Search the text", key="history_q", placeholder="a word or a phrase, any case")
    first, second, third = st.columns(3)
    agents = first.multiselect("Agents", list(names), format_func=lambda key: names[key], key="history_agents")
    kinds = second.multiselect("Kinds", list(MESSAGE_KINDS), key="history_kinds")
    side = third.selectbox("Side", [ANY_SIDE, *SIDES], key="history_side")
    fourth, fifth, sixth = st.columns(3)
    symbol = fourth.text_input("Symbol", key="history_symbol", max_chars=32, placeholder="e.g. BTC")
    first_day = fifth.date_input("From (UTC day)", value=None, key="history_from")
    last_day = sixth.date_input("To (UTC day)", value=None, key="history_to")
    return selection_of(
        agents,
        kinds,
        symbol,
        str(side),
        text,
        first_day if isinstance(first_day, date) else None,
        last_day if isinstance(last_day, date) else None,
    )


def _older(next_before_id: int) -> None:
    st.session_state[_CURSOR_KEY] = [*st.session_state.get(_CURSOR_KEY, []), next_before_id]


def _newer() -> None:
    st.session_state[_CURSOR_KEY] = st.session_state.get(_CURSOR_KEY, [])[:-1]


def _newest() -> None:
    st.session_state[_CURSOR_KEY] = []


def draw_page(dashboard: Dashboard) -> None:
    st.title("History")
    st.caption(
        "Every message the hub keeps (`AGENTCHAT_HISTORY_DAYS`, 30 days by default), newest first;"
        " the live chat shows the latest of each agent."
    )
    selection = _filters(dashboard)
    if st.session_state.get(_SELECTION_KEY) != selection:  # new filters start from the newest page
        st.session_state[_SELECTION_KEY] = selection
        st.session_state[_CURSOR_KEY] = []
    cursor: list[int] = st.session_state.get(_CURSOR_KEY, [])
    hub_url = dashboard.settings.hub_url
    try:
        messages, next_before_id = read_history_page(hub_url, selection, cursor[-1] if cursor else None, PAGE_SIZE)
    except AgentchatError as error:
        st.error(f"History cannot be read: {escape_markdown(error.detail)}")
        return
    names = {agent.id: agent.name for agent in dashboard.roster}
    page_number = len(cursor) + 1
    if not messages:
        st.info("No message matches these filters." if page_number == 1 else "No older message matches.")
    else:
        st.caption(f"Page {page_number}: {len(messages)} messages, ids {messages[-1]['id']} to {messages[0]['id']}.")
        st.dataframe(
            message_rows(messages, names),
            hide_index=True,
            width="stretch",
            key="history_table",
            column_config={
                "id": st.column_config.NumberColumn("id", format="%d"),
                "page": st.column_config.LinkColumn("agent page", display_text="open"),
                "message": st.column_config.TextColumn("message", width="large"),
            },
        )
    newest, newer, older = st.columns(3)
    newest.button("Newest", key="history_newest", on_click=_newest, disabled=not cursor)
    newer.button("Newer", key="history_newer", on_click=_newer, disabled=not cursor)
    older.button(
        "Older",
        key="history_older",
        on_click=_older,
        args=(next_before_id,),
        disabled=next_before_id is None,
    )
    st.subheader("Export")
    st.caption("Every message these filters select (not only this page), as the hub streams it.")
    csv_column, jsonl_column = st.columns(2)
    csv_column.download_button(
        "Download CSV",
        data=lambda: export(hub_url, selection, "csv"),
        file_name="agentchat-history.csv",
        mime="text/csv",
        key="history_export_csv",
        on_click="ignore",
    )
    jsonl_column.download_button(
        "Download JSON Lines",
        data=lambda: export(hub_url, selection, "jsonl"),
        file_name="agentchat-history.jsonl",
        mime="application/x-ndjson",
        key="history_export_jsonl",
        on_click="ignore",
    )


def history_page() -> None:
    """The page script's entry: this run's dashboard (sidebar and feed), then the History page."""
    draw_page(current())
