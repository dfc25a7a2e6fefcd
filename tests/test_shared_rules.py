"""The texts and rules both the dashboard (Python) and the browser module (`agentchat.js`) show are the same.

The dashboard's status pill, gap warning and empty notice are drawn by Streamlit from
`agentchat.dashboard.formatting`; the cards and the viewer page's notices by the browser module the
hub serves. Each side keeps its own copy (the module runs in the browser), and this test, which reads
the module's copy in Chromium from the real hub, fails as soon as one of them differs.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from agentchat.dashboard.formatting import EMPTY_TEXT, GAP_TEXT, KIND_COLORS, PILLS, meta_line, relative_age
from agentchat.message import MESSAGE_KINDS
from tests.kit.browser import BROWSER_MARKS, open_module
from tests.kit.hubs import InProcessHub

pytestmark = BROWSER_MARKS

NAMES = {41: "Claude Arbitrage", 7: "Grok <b>Sentiment</b>"}
METAS: list[Any] = [
    {"symbol": "BTC", "side": "buy", "quantity": 0.25, "price": 71234.5, "confidence": 0.72, "reply_to": 41},
    {"symbol": "ETH", "side": "sell", "quantity": -12.5, "price": 3816.42, "confidence": 0.31, "reply_to": None},
    {"symbol": "SPX", "side": "sell", "quantity": 400000, "price": 5925.92, "confidence": 0.674},
    {"symbol": "EURUSD", "price": 1.08431, "confidence": 0.53},
    {"symbol": "SOL", "quantity": 3, "price": 177.7},  # a quantity without a side traded nothing
    {"side": "buy", "quantity": True, "price": False, "confidence": None},  # booleans are no numbers
    {"symbol": "<img src=x onerror=alert(1)>", "side": "[x](javascript:alert(1))", "reply_to": "7"},
    {"reply_to": "12"},
    {"reply_to": "not an id"},
    {"reply_to": 999},
    {"reply_to": 41.0},
    {"price": 0.00012345, "confidence": 1},
    {"price": 12345678, "confidence": 0},
    {},
    None,
    "a string",
]
AGES = [0, 4.9, 5, 12.3, 59.9, 60, 61, 3599, 3600, 7300, 86400 * 3]


@pytest.fixture(scope="module")
def module_page(browser: Browser, start_hub_module: InProcessHub) -> Iterator[Page]:
    """A page on the hub's origin with the hub's `agentchat.js` imported as `window.agentchat`."""
    page = open_module(browser.new_page(), start_hub_module.url)
    yield page
    page.close()


@pytest.fixture(scope="module")
def start_hub_module(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessHub]:
    hub = InProcessHub(f"sqlite:///{tmp_path_factory.mktemp('rules') / 'agentchat.db'}")
    hub.start()
    yield hub
    hub.stop()


def browser_value(page: Page, expression: str, argument: Any = None) -> Any:
    return page.evaluate(f"(argument) => {{ const m = window.agentchat; return {expression}; }}", argument)


def test_pills_are_worded_alike(module_page: Page) -> None:
    assert browser_value(module_page, "m.PILLS") == {state: label for state, (_, label) in PILLS.items()}


def test_empty_and_gap_notices_are_worded_alike(module_page: Page) -> None:
    assert browser_value(module_page, "[m.EMPTY_TEXT, m.GAP_TEXT]") == [EMPTY_TEXT, GAP_TEXT]


def test_kinds_and_their_badges_are_the_same(module_page: Page) -> None:
    assert browser_value(module_page, "m.KINDS") == list(MESSAGE_KINDS) == list(KIND_COLORS)


@pytest.mark.parametrize("meta", METAS, ids=[json.dumps(meta)[:40] for meta in METAS])
def test_meta_lines_are_alike(module_page: Page, meta: Any) -> None:
    message = {"id": 50, "agent_id": "a", "content": "x", "meta": meta}
    names = {str(key): value for key, value in NAMES.items()}
    shown = browser_value(
        module_page,
        "m.metaLine(argument.message, (id) => argument.names[id])",
        {
            "message": message,
            "names": names,
        },
    )
    assert shown == meta_line(message, NAMES)


def test_ages_are_worded_alike(module_page: Page) -> None:
    assert browser_value(module_page, "argument.map((seconds) => m.relativeAge(seconds))", AGES) == [
        relative_age(seconds) for seconds in AGES
    ]
