"""The viewer page asks for books (`books=1`) and holds the books the API reports, in every tab.

Debian's Chromium through Playwright, a real hub in this process. The books a tab holds are read
from its `<agent-chat>` client (`client.books`), merged from the hub's full frame and each round's
changes; a tab that does not hold the stream has them over BroadcastChannel.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from playwright.sync_api import Browser, Page, expect

from tests.kit import web
from tests.kit.browser import BROWSER_MARKS, PAGE_POLL_MS
from tests.kit.hubs import InProcessHub

pytestmark = BROWSER_MARKS

REALTIME = "🟢 Real-time (SSE)"
HELD_BOOKS = "el => el.client && el.client.books ? JSON.stringify(el.client.books.ranked()) : null"


def performance(hub: InProcessHub) -> list[dict[str, Any]]:
    response = web.get(f"{hub.url}/api/agents/performance", timeout=10)
    assert response.status_code == 200, response.text
    return list(response.json()["agents"])


def wait_for_books(page: Page, books: list[dict[str, Any]]) -> None:
    """Until the tab's books equal `books` (compared as JSON values, key order aside)."""
    page.wait_for_function(
        "([wanted]) => { const el = document.querySelector('agent-chat'); const norm = (v) => Array.isArray(v)"
        " ? v.map(norm) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).sort().map(([k, x])"
        " => [k, norm(x)])) : v; return el && el.client && el.client.books"
        " && JSON.stringify(norm(el.client.books.ranked())) === JSON.stringify(norm(wanted)); }",
        arg=[books],
        polling=PAGE_POLL_MS,
        timeout=15_000,
    )


def test_the_viewer_page_asks_for_books_and_every_tab_holds_the_books_the_api_reports(
    start_hub: Callable[..., InProcessHub], browser: Browser
) -> None:
    hub = start_hub()
    assert hub.generate().status_code == 201  # a round before the page: its books come in full
    context = browser.new_context()
    try:
        streams: list[str] = []
        context.on(
            "request", lambda request: streams.append(request.url) if "/api/chat/stream" in request.url else None
        )
        first = context.new_page()
        first.goto(hub.url)
        expect(first.locator("agent-chat .pill")).to_have_text(REALTIME, timeout=15_000)
        wait_for_books(first, performance(hub))
        second = context.new_page()
        second.goto(hub.url)
        expect(second.locator("agent-chat .pill")).to_have_text(REALTIME, timeout=15_000)
        for agents in (["llama_maker"], None):
            assert hub.generate(agents).status_code == 201
            books = performance(hub)
            wait_for_books(first, books)
            wait_for_books(second, books)
        assert streams and all("books=1" in url for url in streams)
        held = json.loads(first.locator("agent-chat").evaluate(HELD_BOOKS))
        assert [entry["agent_id"] for entry in held] == [entry["agent_id"] for entry in performance(hub)]
    finally:
        context.close()
