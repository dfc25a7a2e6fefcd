"""The viewer page in a real browser: a fresh profile per test (`context`, which fails the test on a
script dialog or a CSP violation), a tab opened on a hub (`open_tab`), a message's card (`card`).

A test module that uses the `context` fixture imports it from here.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Dialog, Page, expect

__all__ = ["ERROR", "PAYLOAD", "POLLING", "REALTIME", "TIMEOUT_MS", "card", "context", "open_tab"]

REALTIME, POLLING, ERROR = "🟢 Real-time (SSE)", "🟡 Polling (fallback)", "🔴 Error"
PAYLOAD = "<img src=x onerror=alert(1)><script>alert(2)</script> [x](javascript:alert(3))"
WATCH_POLICY = (
    "document.addEventListener('securitypolicyviolation', e => (window.violations ??= []).push(e.blockedURI))"
)
TIMEOUT_MS = 15_000  # for what waits on a hub restart or a handover; a delivery gets far less


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh browser profile; a JavaScript dialog or a CSP violation in any of its tabs fails the test."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    dialogs: list[str] = []
    pages: list[Page] = []

    def refuse(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    def watch(page: Page) -> None:
        pages.append(page)
        page.on("dialog", refuse)

    context.on("page", watch)
    context.add_init_script(WATCH_POLICY)
    yield context
    violations = [page.evaluate("window.violations ?? []") for page in pages if not page.is_closed()]
    context.close()
    assert dialogs == [], f"a script ran in the page: {dialogs}"
    assert all(found == [] for found in violations), f"the page broke its Content-Security-Policy: {violations}"


def open_tab(context: BrowserContext, url: str, pill: str = REALTIME) -> Page:
    page = context.new_page()
    page.goto(url)
    expect(page.locator("agent-chat .pill")).to_have_text(pill, timeout=TIMEOUT_MS)
    return page


def card(page: Page, message: dict[str, Any]) -> Any:
    return page.locator(f"agent-chat .card[data-id='{message['id']}']")
