"""An external agent's card in a real browser: its details under a "why" disclosure, as text.

The viewer page's `<agent-chat>` in Debian's Chromium (Playwright) on a real hub. The card of a
published message with details folds them under "why"; markup in them is shown as text (the
`context` fixture of tests/kit/viewer_page.py fails the test if any script runs). The README's
picture of such a card is written by `UPDATE_SCREENSHOTS=1 python -m pytest tests/test_publish_viewer.py`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import BrowserContext, expect

from tests.kit.browser import BROWSER_MARKS
from tests.kit.hubs import InProcessHub
from tests.kit.market_calls import order_body, post
from tests.kit.paths import ROOT
from tests.kit.roster import roster_file
from tests.kit.viewer_page import PAYLOAD, card, context, open_tab

pytestmark = BROWSER_MARKS
__all__ = ["context"]  # the browser profile fixture (tests/kit/viewer_page.py), dialogs and CSP watched


def test_an_external_agents_details_are_folded_under_why_and_shown_as_text(
    start_hub: Callable[..., InProcessHub], context: BrowserContext, tmp_path: Path
) -> None:
    hub = start_hub(agents_file=roster_file(tmp_path))
    assert hub.generate().status_code == 201
    page = open_tab(context, f"{hub.url}/?agents=alpha,claude_arbitrage")
    page.set_viewport_size({"width": 1100, "height": 900})
    details = {
        "reasoning": f"SOL broke its 24-bar high on rising flow. {PAYLOAD}",
        "inputs": {"SOL": 183.2, "flow_imbalance": 0.41, "note": "<b>bold?</b>"},
        "decision": {"action": "buy", "symbol": "SOL", "quantity": 40},
    }
    answer = post(hub, order_body("SOL", "buy", 40, details=details, confidence=0.7))
    assert answer.status_code == 201, answer.text
    shown = card(page, answer.json()["message"])
    expect(shown).to_contain_text(answer.json()["message"]["content"])
    why = shown.locator("details.why")
    expect(why).to_have_count(1)
    expect(shown.locator(".why-reasoning")).not_to_be_visible()  # folded until asked
    why.locator("summary").click()
    expect(shown.locator(".why-reasoning")).to_have_text(details["reasoning"])
    expect(shown.locator(".why-data")).to_contain_text('"note": "<b>bold?</b>"')
    assert shown.locator("img, script, b").count() == 0
    live_round = hub.generate(["claude_arbitrage"])
    assert live_round.status_code == 201
    engine_card = card(page, live_round.json()["messages"][0])
    expect(engine_card.locator("details.why")).to_have_count(1)  # the engine's numbers, from ?details=1
    engine_card.locator("details.why summary").click()
    expect(engine_card.locator(".why-data")).to_contain_text('"signal"')
    pictures = ROOT / "docs" if os.environ.get("UPDATE_SCREENSHOTS") == "1" else tmp_path
    page.screenshot(path=str(pictures / "external_agent.png"))
