"""The dashboard's wake-up element (`wake.js`) in Chromium, called as Streamlit calls it, against a real hub.

Streamlit calls the element again at every change of its data (its `since` moves with every message),
and a state value set again, even unchanged, reruns the session's fragment: the element sets its
state (`link`, `role`) only when it differs from what the session read of it (`data.link`,
`data.role`), and again when the session lost it (a page switch drops an element's state).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from agentchat.dashboard.board import module_js
from tests.kit.browser import BROWSER_MARKS, PAGE_POLL_MS
from tests.kit.hubs import InProcessHub

pytestmark = BROWSER_MARKS

LOAD_MODULE = """async (source) => {
    const url = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
    const module = await import(url);
    window.stateSet = [];
    window.mountWake = (data) => module.default({
        data: [data],
        parentElement: document.body,
        setStateValue: (name, value) => window.stateSet.push([name, value]),
        setTriggerValue: () => {},
    });
}"""


@pytest.fixture
def page(browser: Browser, tmp_path: Any) -> Iterator[tuple[Page, str]]:
    hub = InProcessHub(f"sqlite:///{tmp_path / 'agentchat.db'}")
    hub.start()
    page = browser.new_page()
    page.goto(f"{hub.url}/api/viewer/config")
    page.evaluate(LOAD_MODULE, module_js())
    yield page, hub.url
    page.close()
    hub.stop()


def mount(page: Page, hub_url: str, since: int, link: str | None, role: str) -> list[list[str]]:
    """Call the element as a run of the session that read `link` and `role` would; every state set so far."""
    data = {"hub_url": hub_url, "since": since, "poll_seconds": 45, "clock_ms": 0, "link": link, "role": role}
    page.evaluate("(data) => window.mountWake(data)", data)
    return list(page.evaluate("() => window.stateSet"))


def test_the_state_is_set_once_and_again_only_when_the_session_lost_it(page: tuple[Page, str]) -> None:
    tab, hub_url = page
    mount(tab, hub_url, 0, None, "")  # the stream connects, then the element says it is open
    tab.wait_for_function("() => window.stateSet.length >= 2", polling=PAGE_POLL_MS, timeout=20_000)
    told = list(tab.evaluate("() => window.stateSet"))
    role = told[1][1]
    assert told == [["link", "open"], ["role", role]]  # once, not at each call
    for since in (1, 2, 3):  # the runs that read it, one per message: nothing set again
        assert mount(tab, hub_url, since, "open", role) == told
    lost = mount(tab, hub_url, 4, None, "")  # the session no longer has it (a page switch)
    assert lost == [*told, ["link", "open"], ["role", role]]
    assert mount(tab, hub_url, 5, "open", role) == lost
