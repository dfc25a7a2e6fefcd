"""A viewer page opened long after the last round shows each agent's latest messages, never a blank chat."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import sqlalchemy as sa
from playwright.sync_api import Browser, expect

from agentchat.store import messages_table
from tests.browser import BROWSER_MARKS
from tests.support import InProcessHub

pytestmark = BROWSER_MARKS


def test_a_fresh_viewer_page_shows_each_agents_latest_message_long_after_the_round(
    start_hub: Callable[..., InProcessHub], sqlite_url: str, browser: Browser
) -> None:
    first = start_hub()
    made = [first.generate().json()["messages"] for _ in range(2)]
    first.stop()
    engine = sa.create_engine(sqlite_url)
    with engine.begin() as connection:  # an hour ago, row by row: far past a 3 s retention
        for message_id, created_at in connection.execute(
            sa.select(messages_table.c.id, messages_table.c.created_at)
        ).all():
            connection.execute(
                sa.update(messages_table)
                .where(messages_table.c.id == message_id)
                .values(created_at=created_at - timedelta(hours=1))
            )
    engine.dispose()
    hub = start_hub(retention_seconds=3, max_per_agent=1)
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(hub.url)
        for message in made[-1]:
            expect(page.locator(f"agent-chat .card[data-id='{message['id']}']")).to_be_visible(timeout=15_000)
        for message in made[0]:  # each agent's latest one only
            expect(page.locator(f"agent-chat .card[data-id='{message['id']}']")).to_have_count(0)
        expect(page.locator("agent-chat .gap")).to_be_hidden()  # a fresh page lost nothing it had
    finally:
        context.close()
