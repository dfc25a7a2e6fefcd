"""The suite's and the benches' Chromium: Playwright's own switches kept, the headless address bar's popups left out."""

from __future__ import annotations

import re
from pathlib import Path

import playwright
from playwright.sync_api import Browser

from tests.kit.browser import BROWSER_MARKS, CHROMIUM_ARGS, NO_ADDRESS_BAR_POPUPS, PLAYWRIGHT_DISABLED_FEATURES

pytestmark = BROWSER_MARKS
DRIVER = Path(playwright.__file__).parent / "driver" / "package" / "lib"


def playwrights_disabled_features() -> tuple[str, ...]:
    """The `disabledFeatures` list of the installed Playwright's Chromium switches, read from its driver's source."""
    for source in sorted(DRIVER.rglob("*.js")):
        text = source.read_text(encoding="utf-8", errors="replace")
        found = re.search(r"disabledFeatures = \[(.*?)\]\.filter", text, re.DOTALL)
        if found:
            return tuple(re.findall(r'^\s*"([^"]+)"', found.group(1), re.MULTILINE))
    raise AssertionError(f"no disabledFeatures list under {DRIVER}")


def test_our_disable_features_switch_repeats_playwrights_own_list() -> None:
    # Chromium reads the last --disable-features switch only: drifting from Playwright's list re-enables its features.
    assert playwrights_disabled_features() == PLAYWRIGHT_DISABLED_FEATURES


def test_the_switch_chromium_reads_carries_playwrights_features_and_ours() -> None:
    switches = [argument for argument in CHROMIUM_ARGS if argument.startswith("--disable-features=")]
    disabled = switches[-1].removeprefix("--disable-features=").split(",")
    assert set(disabled) == {*PLAYWRIGHT_DISABLED_FEATURES, *NO_ADDRESS_BAR_POPUPS}


def test_a_new_context_builds_no_address_bar_popup(browser: Browser) -> None:
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto("data:text/html,<p>a page of its own context</p>")
        session = browser.new_browser_cdp_session()
        urls = [target["url"] for target in session.send("Target.getTargets")["targetInfos"]]
        assert "data:text/html,<p>a page of its own context</p>" in urls
        assert [url for url in urls if url.startswith("chrome://omnibox-popup")] == []
    finally:
        context.close()
