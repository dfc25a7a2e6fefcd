"""A viewer page opened long after the last round shows each agent's latest messages, never a blank chat."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from playwright.sync_api import Browser, expect

from agentchat.store import messages_table
from tests.kit.browser import BROWSER_MARKS, Dashboard, wait_until_woken_by_its_stream
from tests.kit.hubs import InProcessHub
from tests.kit.ports import free_port

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


def test_an_agents_name_on_the_leaderboard_opens_its_page(
    start_hub: Callable[..., InProcessHub], browser: Browser, tmp_path: Path
) -> None:
    """The hub is told the dashboard's port, as `agentchat run` tells it: the page then holds its stream and
    is redrawn on change. Without it the page reruns by its one-second clock, and a click on the sidebar
    that lands while a rerun redraws it can be lost (1 run in 3 of the suite beside two CPU hogs)."""
    port = free_port()
    hub = start_hub(dashboard_port=port)
    hub.generate()
    dashboard = Dashboard(hub.url, tmp_path, port=port)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        dashboard.wait_healthy()
        page.goto(dashboard.url)
        expect(page.get_by_text("🟢 Real-time (SSE)")).to_be_visible(timeout=30_000)
        wait_until_woken_by_its_stream(page)
        page.get_by_role("link", name="Leaderboard").click()
        link = page.locator("a[href='agent?agent=grok_sentiment']")
        expect(link).to_be_visible(timeout=30_000)
        if link.get_attribute("target") == "_blank":
            with page.expect_popup() as opened:
                link.click()
            page = opened.value
        else:
            link.click()
        expect(page.get_by_role("heading", name="Grok Sentiment")).to_be_visible(timeout=30_000)
        expect(page.get_by_text("Equity over time")).to_be_visible(timeout=30_000)
    finally:
        for opened in list(page.context.pages):
            opened.close()
        dashboard.stop()
