"""What the browser tests share: Debian's Chromium, and the dashboard as a real `streamlit run app.py`.

`Dashboard` is the one way a test starts the dashboard (tests/test_browser.py, tests/test_login.py,
bench/dashboard.py): on a free loopback port chosen before it starts, so the hub in front of which
it runs can be told that port (`AGENTCHAT_DASHBOARD_PORT`, from which the hub derives the origins
its stream accepts: the dashboard's change-driven redraw holds an `EventSource` from the browser).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.kit.paths import ROOT
from tests.kit.ports import free_port
from tests.kit.processes import stop_process
from tests.kit.waits import wait_answering

__all__ = [
    "BROWSER_MARKS",
    "CHROMIUM",
    "CHROMIUM_ARGS",
    "NO_ADDRESS_BAR_POPUPS",
    "PAGE_POLL_MS",
    "PLAYWRIGHT_DISABLED_FEATURES",
    "Dashboard",
    "card",
    "chromium_args",
    "open_module",
    "previewed",
    "wait_until_not_previewing",
    "wait_until_previewing",
    "wait_until_sent",
    "wait_until_woken_by_its_stream",
]

CHROMIUM = Path("/usr/bin/chromium")
BROWSER_MARKS = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason=f"browser tests need Debian's Chromium at {CHROMIUM} (apt-get install chromium)"
    ),
]
# An `expect` with no timeout of its own waits this long, not Playwright's 5 s: a ceiling that only catches a
# hang, on a machine the browser shares with the rest of the suite.
expect.set_options(timeout=20_000)
# How often `page.wait_for_function` checks its condition: every 50 ms, not Playwright's default of every animation
# frame, which keeps the page drawing 60 frames a second for as long as it waits (~0.06 s of Chromium's CPU per
# second waited, against ~0.004 s at 50 ms; the suite is bound by its two cores).
PAGE_POLL_MS = 50
# Playwright's own `--disable-features` list (its `chromiumSwitches`: features that make tests flaky or call out to
# the network). Chromium reads the last `--disable-features` switch only, so the one below repeats it;
# tests/test_chromium_args.py fails when the installed Playwright's list differs.
PLAYWRIGHT_DISABLED_FEATURES = (
    "AvoidUnnecessaryBeforeUnloadCheckSync",
    "DestroyProfileOnBrowserClose",
    "HttpsUpgrades",
    "HttpsFirstBalancedModeAutoEnable",
    "LensOverlay",
    "MediaRouter",
    "PaintHolding",
    "ThirdPartyStoragePartitioning",
    "AvoidCorsURLLoaderRestartOnRedirect",
    "TcpPortRandomizationWin",
    "OptimizationHints",
    "NetworkTimeServiceQuerying",
    "AimEnabled",
    "PreconnectToSearch",
    "msForceBrowserSignIn",
    "msEdgeUpdateLaunchServicesPreferredVersion",
)
# Headless Chromium builds the address bar's popups (two WebUI pages, `chrome://omnibox-popup.top-chrome/`) for every
# new browser context, though a headless page has no address bar: about 0.7 s of CPU per context, a third of what a
# dashboard page costs to open in one (bench/page_cost.py). An operator's browser builds them once per window, not
# per page, so without them a test or bench page costs Chromium what a page opened in a browser costs.
NO_ADDRESS_BAR_POPUPS = ("WebUIOmniboxPopup", "WebUIOmniboxAimPopup")


def chromium_args(address_bar_popups: bool = False) -> list[str]:
    """The switches the suite and the benches launch Chromium with; `address_bar_popups` keeps Chromium's default
    (bench/page_cost.py measures both)."""
    disabled = (
        PLAYWRIGHT_DISABLED_FEATURES if address_bar_popups else (*PLAYWRIGHT_DISABLED_FEATURES, *NO_ADDRESS_BAR_POPUPS)
    )
    return [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-features=" + ",".join(disabled),
    ]


CHROMIUM_ARGS = chromium_args()


class Dashboard:
    """`streamlit run app.py` on loopback, pointed at `hub_url`; `env` adds AGENTCHAT_ settings, `args` options.

    `script` runs another Streamlit script of the checkout the same way (the benches' profiled or minimal pages).
    """

    def __init__(
        self,
        hub_url: str,
        log_dir: Path,
        *,
        port: int | None = None,
        env: Mapping[str, str] | None = None,
        args: Sequence[str] = (),
        command_prefix: Sequence[str] = (),
        script: str = "app.py",
    ) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        environment = {key: value for key, value in os.environ.items() if not key.startswith("AGENTCHAT_")}
        environment |= {"AGENTCHAT_HUB_URL": hub_url, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.log_path = log_dir / f"dashboard-{self.port}.log"
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    *command_prefix,
                    *(sys.executable, "-m", "streamlit", "run", script),
                    *("--server.port", str(self.port), "--server.address", "127.0.0.1"),
                    *("--server.headless", "true", "--server.fileWatcherType", "none"),
                    *("--browser.gatherUsageStats", "false"),
                    *args,
                ],
                cwd=ROOT,
                env=environment,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def wait_healthy(self) -> None:
        wait_answering(self.process, f"{self.url}/_stcore/health", self.log_path.read_text, timeout=30)

    def stop(self) -> None:
        stop_process(self.process)


def card(page: Page, message: Mapping[str, Any]) -> Locator:
    """A message's card on the dashboard: the live chat element's (`article.card`, by message id), or the
    element-per-card drawing's container (its key names the message id; `AGENTCHAT_DASHBOARD_CARDS=elements`)."""
    return page.locator(f"article.card[data-id='{message['id']}'], .st-key-message-{message['id']}")


def wait_until_woken_by_its_stream(page: Page, timeout_ms: float = 20_000) -> None:
    """Wait until the page's wake-up element holds an open stream: from then on it redraws on change.

    Until then (the first second or two of a page) the page runs by the clock, as a browser that
    cannot reach the hub does.
    """
    page.wait_for_function(
        "() => [...(window.__agentchatStreams || new Map()).values()].some((entry) => entry.state === 'open')",
        polling=PAGE_POLL_MS,
        timeout=timeout_ms,
    )


def open_module(page: Page, hub_url: str) -> Page:
    """`page` on the hub's origin with the hub's own `agentchat.js` imported as `window.agentchat`."""
    page.goto(f"{hub_url}/api/viewer/config")
    page.evaluate("async () => { window.agentchat = await import('/agentchat.js'); }")
    return page


def wait_until_sent(page: Page, message: Mapping[str, Any], timeout_ms: float = 20_000) -> None:
    """Wait until a run of the live area has sent `message` to the live chat element: the session's feed
    holds it (a card may be on screen before that, drawn from the browser's stream: `previewed`)."""
    page.wait_for_function(
        "(id) => Boolean(window.__agentchatBoard?.messages.has(String(id)))",
        arg=message["id"],
        polling=PAGE_POLL_MS,
        timeout=timeout_ms,
    )


def previewed(page: Page) -> list[int]:
    """The ids the live chat element drew from the browser's stream before a rerun sent them (the latest)."""
    return [int(value) for value in page.evaluate("() => window.__agentchatBoard?.previewed ?? []")]


_PREVIEWING = "[...(window.__agentchatBoard?.previewing.values() ?? [])].some((boards) => boards.size > 0)"


def wait_until_previewing(page: Page, timeout_ms: float = 20_000) -> None:
    """Wait until the live chat element draws the arrivals of the browser's stream (the session redraws on
    change and a run of the live area has said so); from then on a new message is drawn before its rerun."""
    page.wait_for_function(f"() => {_PREVIEWING}", polling=PAGE_POLL_MS, timeout=timeout_ms)


def wait_until_not_previewing(page: Page, timeout_ms: float = 20_000) -> None:
    """Wait until no live chat element draws the browser stream's arrivals: a run that is not in redraw-on-change
    mode reached the element. A run's deltas arrive in order, so the sidebar's mode can be on screen before the
    same run's element data; from here on only a rerun draws a new message."""
    page.wait_for_function(f"() => !({_PREVIEWING})", polling=PAGE_POLL_MS, timeout=timeout_ms)
