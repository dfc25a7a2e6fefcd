"""The dashboard in a real browser: Debian's Chromium driven by Playwright, against real processes.

A hub and `streamlit run app.py` run as subprocesses for the whole module (the test that restarts
its hub has a pair of its own); each test opens its own page, which is its own Streamlit session
with its own live feed. The README's screenshots come from the Diagnostics and Leaderboard tests:
`UPDATE_SCREENSHOTS=1 python -m pytest tests/test_browser.py`.
The last test drives Chromium's native EventSource, on a page of another origin, through a store
outage during its reconnect (issue 13, point 1).
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, Page, expect

from agentchat.dashboard.standings import whole_money
from agentchat.message import Draft
from agentchat.store import Store, create_store_engine
from tests.kit import web
from tests.kit.browser import (
    BROWSER_MARKS,
    PAGE_POLL_MS,
    Dashboard,
    card,
    previewed,
    wait_until_not_previewing,
    wait_until_previewing,
    wait_until_sent,
    wait_until_woken_by_its_stream,
)
from tests.kit.hubs import UNBOUNDED, HubProcess, InProcessHub
from tests.kit.paths import ROOT
from tests.kit.ports import free_port
from tests.kit.waits import wait_until

pytestmark = BROWSER_MARKS
TOKEN = "browser-test-token"
PAYLOAD = "<img src=x onerror=alert(1)> [x](javascript:alert(1))"
DOCS = ROOT / "docs"
# The live area's timers an hour away: whatever a test sees arrive was drawn because it changed, not by a clock.
LONG_TIMERS = {
    "AGENTCHAT_DASHBOARD_CLOCK_SECONDS": "3600",
    "AGENTCHAT_DASHBOARD_REFRESH_SECONDS": "3600",
    "AGENTCHAT_DASHBOARD_AGE_SECONDS": "3600",
}
POLL_SECONDS = 2
# How long a test waits for what a change draws. Far below the timers, so a pass still shows change-driven
# redraw; not a latency bound (bench/dashboard.py measures that): the browser tests share 2 cores with the suite.
SHOWN_MS = 15_000


@contextlib.contextmanager
def running_stack(workdir: Path) -> Iterator[tuple[HubProcess, Dashboard]]:
    """A hub (heartbeat 2 s, token required) and a dashboard in front of it, its timers an hour away.

    The hub is told the dashboard's port, as `agentchat run` tells it, so it accepts the dashboard's origin
    on its stream and every session redraws on change.
    """
    port = free_port()  # the hub accepts the dashboard's origin on its stream, as with `agentchat run`
    hub = HubProcess(
        f"sqlite:///{workdir / 'agentchat.db'}",
        workdir,
        heartbeat_seconds=2,
        generate_token=TOKEN,
        dashboard_port=port,
        generate_per_minute=UNBOUNDED,  # the module's tests make ~60 rounds: no test spends another's budget
        forked=True,
    )
    hub.start(wait=False)
    env = {"AGENTCHAT_GENERATE_TOKEN": TOKEN, "AGENTCHAT_POLL_SECONDS": str(POLL_SECONDS), **LONG_TIMERS}
    dashboard = Dashboard(hub.url, workdir, port=port, env=env)
    try:
        hub.wait_healthy()
        dashboard.wait_healthy()
        yield hub, dashboard
    finally:
        dashboard.stop()
        hub.stop()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[HubProcess, Dashboard]]:
    """The module's hub and dashboard; no test stops or restarts them (one that must has its own)."""
    with running_stack(tmp_path_factory.mktemp("browser")) as running:
        yield running


def page_opener(browser: Browser, url: str, pages: list[Page], dialogs: list[str]) -> Callable[[], Page]:
    """Open the dashboard at `url` in a new tab (a new Streamlit session) once its live area redraws on change."""

    def open_() -> Page:
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        pages.append(page)
        page.goto(url)
        page.wait_for_selector("[data-testid='stApp']", timeout=20_000)
        expect(page.get_by_text("🟢 Real-time (SSE)")).to_be_visible(timeout=20_000)
        wait_until_woken_by_its_stream(page)
        wait_until_previewing(page)
        return page

    return open_


def settled(page: Page) -> None:
    """Wait until the page's script run has ended and its charts are drawn: what a picture should show."""
    expect(page.locator("[data-testid='stApp'][data-test-script-state='notRunning']")).to_have_count(1)
    charts = page.locator("[data-testid='stVegaLiteChart']")
    for index in range(charts.count()):
        expect(charts.nth(index).locator("svg.marks")).to_be_visible(timeout=SHOWN_MS)


@pytest.fixture
def open_page(browser: Browser, stack: tuple[HubProcess, Dashboard]) -> Iterator[Callable[[], Page]]:
    """Open the dashboard in a new tab (a new Streamlit session); a JavaScript dialog fails the test."""
    pages: list[Page] = []
    dialogs: list[str] = []
    yield page_opener(browser, stack[1].url, pages, dialogs)
    for page in pages:
        page.close()
    assert dialogs == [], f"a script ran in the page: {dialogs}"


def generate(hub: HubProcess, agents: list[str] | None = None) -> list[dict[str, Any]]:
    response = hub.generate(agents, Authorization=f"Bearer {TOKEN}")
    assert response.status_code == 201, response.text
    return list(response.json()["messages"])


def report(capsys: pytest.CaptureFixture[str], line: str) -> None:
    with capsys.disabled():
        print(f"\n  {line}")


def test_generate_button_shows_the_new_round(
    open_page: Callable[[], Page], stack: tuple[HubProcess, Dashboard], capsys: pytest.CaptureFixture[str]
) -> None:
    hub, _ = stack
    page = open_page()
    before = hub.messages(since_id=0)["last_id"]
    clicked = time.monotonic()
    page.get_by_role("button", name="Generate messages").click()
    expect(page.get_by_text("Generated 6 messages")).to_be_visible(timeout=SHOWN_MS)
    made = hub.messages(since_id=before)["messages"]
    assert len(made) == 6
    for message in made:
        expect(card(page, message)).to_contain_text(message["content"][:60], timeout=SHOWN_MS)
    report(capsys, f"Generate click -> 6 new cards visible in the browser: {time.monotonic() - clicked:.2f} s")
    expect(page.get_by_text("🟢 Real-time (SSE)")).to_be_visible()


def test_a_round_posted_elsewhere_is_on_screen_with_the_timer_an_hour_away(
    open_page: Callable[[], Page], stack: tuple[HubProcess, Dashboard], capsys: pytest.CaptureFixture[str]
) -> None:
    hub, _ = stack
    page = open_page()
    timings = []
    for _ in range(4):
        posted = time.monotonic()
        made = generate(hub, ["grok_sentiment"])
        expect(card(page, made[0])).to_contain_text(made[0]["content"][:60], timeout=SHOWN_MS)
        timings.append(time.monotonic() - posted)
    report(
        capsys, "POST /api/chat/generate -> card visible in the browser: " + ", ".join(f"{t:.2f} s" for t in timings)
    )


def test_several_pages_each_show_every_message_once(
    open_page: Callable[[], Page], stack: tuple[HubProcess, Dashboard]
) -> None:
    hub, _ = stack
    pages = [open_page() for _ in range(3)]
    made = [message for _ in range(3) for message in generate(hub)]
    for page in pages:
        for message in made:
            expect(card(page, message)).to_have_count(1, timeout=SHOWN_MS)
            expect(card(page, message)).to_contain_text(message["content"][:60])


def test_diagnostics_says_the_session_redraws_on_change(
    open_page: Callable[[], Page], stack: tuple[HubProcess, Dashboard]
) -> None:
    page = open_page()
    page.get_by_role("link", name="Diagnostics").click()
    # The element tells the session during the page's full run; the session reads it at the fragment's next run,
    # after the full run (seconds apart on a loaded machine): a ceiling for a hang, not a latency.
    expect(page.get_by_text("Redraw on change: the browser holds a stream")).to_be_visible(timeout=60_000)
    expect(page.get_by_text("the cards' ages move in the browser, the figures every 3600 s")).to_be_visible()


def test_with_sse_off_the_page_polls_and_says_so(
    open_page: Callable[[], Page], stack: tuple[HubProcess, Dashboard]
) -> None:
    hub, _ = stack
    page = open_page()
    page.get_by_text("Real-time (SSE)", exact=True).click()  # the sidebar's toggle
    expect(page.get_by_text("🟡 Polling (fallback)")).to_be_visible(timeout=10_000)
    wait_until_not_previewing(page)  # the same run's element data, which may come after the sidebar's mode
    made = generate(hub, ["mistral_macro"])
    expect(card(page, made[0])).to_contain_text(made[0]["content"][:60], timeout=POLL_SECONDS * 1000 + 5000)
    assert made[0]["id"] not in previewed(page)  # drawn by the poll's rerun: the browser's stream draws nothing
    page.get_by_role("link", name="Diagnostics").click()
    expect(page.get_by_text(f"Redraw polling: the page reruns every {POLL_SECONDS} s")).to_be_visible(timeout=10_000)


def woken(page: Page) -> int:
    """How often the page's wake-up element has woken its live area so far."""
    return int(page.evaluate("() => [...window.__agentchatStreams.values()].reduce((sum, e) => sum + e.sent, 0)"))


def test_a_browser_that_cannot_hold_the_stream_keeps_the_one_second_timer_and_says_so(
    stack: tuple[HubProcess, Dashboard], browser: Browser, tmp_path: Path
) -> None:
    """A dashboard on a port the hub was not told: its origin is refused on the stream, as for a remote browser.

    Its refresh is an hour away, so what redraws the page is the element's own one-second clock.
    """
    hub, _ = stack
    other = Dashboard(hub.url, tmp_path, env={"AGENTCHAT_DASHBOARD_REFRESH_SECONDS": "3600"})
    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    try:
        other.wait_healthy()
        page.goto(other.url)
        expect(page.get_by_text("🟢 Real-time (SSE)")).to_be_visible(timeout=20_000)
        page.get_by_role("link", name="Diagnostics").click()
        expect(page.get_by_text("Redraw by the clock, every 1 s (the browser's stream to the hub: down")).to_be_visible(
            timeout=20_000
        )
        page.get_by_role("link", name="Live chat").click()
        expect(page.get_by_text("🟢 Real-time (SSE)")).to_be_visible(timeout=SHOWN_MS)
        before = woken(page)
        # Woken again and again by its one-second clock (without it: no wake-up at all here, the refresh
        # being an hour away); counted, not timed.
        page.wait_for_function(
            f"() => [...window.__agentchatStreams.values()].reduce((sum, e) => sum + e.sent, 0) >= {before + 4}",
            polling=PAGE_POLL_MS,
            timeout=60_000,
        )
        made = generate(hub, ["gemini_reversion"])
        expect(card(page, made[0])).to_contain_text(made[0]["content"][:60], timeout=SHOWN_MS)
    finally:
        page.close()
        other.stop()


def test_html_and_markdown_link_in_a_message_show_as_text(
    open_page: Callable[[], Page], stack: tuple[HubProcess, Dashboard]
) -> None:
    hub, _ = stack
    store = Store(create_store_engine(hub.env["AGENTCHAT_DATABASE_URL"]), retention_seconds=600)
    meta = {"symbol": PAYLOAD, "side": "sell", "price": 2.5, "confidence": 0.4, "reply_to": None}
    stored, _ = store.insert_round([Draft("mistral_macro", "Mistral Macro", "alert", PAYLOAD, meta)])
    store.dispose()
    page = open_page()  # a new session replays what the hub retains, this message included
    message = card(page, stored[0].to_dict())
    expect(message.locator(".content")).to_have_text(PAYLOAD)
    expect(message.locator(".meta")).to_contain_text(PAYLOAD)
    assert page.locator("img[src='x']").count() == 0
    assert page.locator("a[href^='javascript']").count() == 0
    assert message.locator("a").count() == 0


def test_a_card_with_details_shows_them_folded_under_it(
    open_page: Callable[[], Page], stack: tuple[HubProcess, Dashboard]
) -> None:
    hub, _ = stack
    page = open_page()
    made = generate(hub, ["claude_arbitrage"])
    stored = web.get(f"{hub.url}/api/chat/messages/{made[0]['id']}", timeout=10).json()
    action = stored["details"]["decision"]["action"]  # a round's message carries the engine's numbers
    why = card(page, made[0]).locator("details.why")
    expect(why).to_have_count(1, timeout=SHOWN_MS)
    expect(why).not_to_have_attribute("open", "")  # folded until asked
    why.locator("summary").click()
    expect(why.locator(".why-data")).to_be_visible()
    expect(why.locator(".why-data")).to_contain_text(f'"action": "{action}"')


def test_a_redraw_keeps_cards_mounted_and_widgets_as_set(
    open_page: Callable[[], Page], stack: tuple[HubProcess, Dashboard]
) -> None:
    hub, _ = stack
    made = generate(hub, ["claude_arbitrage"])
    page = open_page()
    page.get_by_text("Timeline", exact=True).click()
    expect(page.get_by_text("arbitrage", exact=True)).to_have_count(0)  # the columns' headers are gone
    expect(page.locator("[data-testid='stApp'][data-test-script-state='notRunning']")).to_have_count(1)
    expect(card(page, made[0])).to_be_visible()
    handle = card(page, made[0]).element_handle()  # the Timeline's card: its rerun has ended
    assert handle is not None
    newer = generate(hub, ["claude_arbitrage"])
    expect(card(page, newer[0])).to_be_visible(timeout=SHOWN_MS)  # the live area was redrawn
    assert handle.evaluate("element => element.isConnected")  # in place, not remounted
    expect(page.get_by_role("radio", name="Timeline")).to_be_checked()


def test_a_hub_restart_is_recovered_from(browser: Browser, tmp_path: Path) -> None:
    """On a hub and dashboard of its own: the module's are never restarted under another test."""
    pages: list[Page] = []
    dialogs: list[str] = []
    with running_stack(tmp_path) as (hub, dashboard):
        try:
            restart_and_recover(hub, page_opener(browser, dashboard.url, pages, dialogs)())
        finally:
            for page in pages:
                page.close()
    assert dialogs == [], f"a script ran in the page: {dialogs}"


def restart_and_recover(hub: HubProcess, page: Page) -> None:
    before = generate(hub, ["llama_maker"])
    expect(card(page, before[0])).to_be_visible(timeout=SHOWN_MS)
    hub.terminate()
    expect(page.get_by_text("🟢 Real-time (SSE)")).to_have_count(0, timeout=20_000)
    hub.start()
    expect(page.get_by_text("🟢 Real-time (SSE)")).to_be_visible(timeout=30_000)
    after = generate(hub, ["llama_maker"])
    expect(card(page, after[0])).to_contain_text(after[0]["content"][:60], timeout=10_000)
    expect(card(page, before[0])).to_have_count(1)
    page.get_by_role("link", name="Diagnostics").click()
    expect(page.get_by_text("Redraw on change")).to_be_visible(timeout=20_000)


def test_closing_the_tab_closes_its_feed_connection(
    open_page: Callable[[], Page], stack: tuple[HubProcess, Dashboard]
) -> None:
    hub, _ = stack

    def clients() -> int:
        return int(web.get(f"{hub.url}/healthz", timeout=5).json()["clients"])

    wait_until(lambda: clients() == 0, timeout=60)  # tabs of earlier tests are released by now
    page = open_page()
    wait_until(lambda: clients() == 2, timeout=60)  # the session's feed, and the tab's own wake-up stream
    made = generate(hub, ["llama_maker"])  # a redraw: whatever connection a rerun would open is open after it
    expect(card(page, made[0])).to_be_visible(timeout=SHOWN_MS)
    expect(page.locator("[data-testid='stApp'][data-test-script-state='notRunning']")).to_have_count(1)
    assert clients() == 2  # no more than one extra connection per tab
    page.close()
    wait_until(lambda: clients() == 0, timeout=60)


def test_diagnostics_page_runs_the_connection_test_and_both_pages_are_pictured(
    open_page: Callable[[], Page], stack: tuple[HubProcess, Dashboard], tmp_path: Path
) -> None:
    """Also the README's pictures: written to docs/ when UPDATE_SCREENSHOTS=1, else to a temporary folder."""
    hub, _ = stack
    pictures = DOCS if os.environ.get("UPDATE_SCREENSHOTS") == "1" else tmp_path
    page = open_page()
    for _ in range(2):
        made = generate(hub)
        expect(card(page, made[-1])).to_be_visible(timeout=SHOWN_MS)
    settled(page)
    page.screenshot(path=str(pictures / "dashboard.png"))
    page.set_viewport_size({"width": 1600, "height": 1450})  # the whole Diagnostics page in one picture
    page.get_by_role("link", name="Diagnostics").click()
    expect(page.get_by_text("Delivery latency")).to_be_visible(timeout=5000)
    page.get_by_role("button", name="Run connection test").click()
    expect(page.get_by_text("all 7 checks passed")).to_be_visible(timeout=30_000)
    expect(page.get_by_role("cell", name="✅ PASS")).to_have_count(7)
    settled(page)
    page.screenshot(path=str(pictures / "diagnostics.png"))
    page.get_by_role("link", name="Live chat").click()  # same session: the feed and its messages are still there
    expect(card(page, made[-1])).to_be_visible(timeout=SHOWN_MS)


PAGE = """<!doctype html><meta charset="utf-8"><title>viewer</title><script>
window.seen = []; window.unavailable = 0; window.readies = 0;
const hub = new URLSearchParams(location.search).get("hub");
const source = new EventSource(hub + "/api/chat/stream");
source.onmessage = (event) => window.seen.push(JSON.parse(event.data).id);
source.addEventListener("ready", () => window.readies++);
source.addEventListener("unavailable", () => window.unavailable++);
</script>"""


@pytest.fixture
def page_origin() -> Iterator[str]:
    """A page on its own origin whose EventSource reads the hub named in its `?hub=`."""
    body = PAGE.encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_an_eventsource_on_another_origin_comes_back_after_a_store_outage(
    start_hub: Callable[..., InProcessHub], page_origin: str, browser: Browser
) -> None:
    hub = start_hub(cors_origins=page_origin)
    assert hub.app is not None
    database = sa.make_url(hub.settings.database_url).database
    assert database is not None
    path, away = Path(database), Path(database + ".away")
    page = browser.new_page()
    try:
        page.goto(f"{page_origin}/?hub={hub.url}")
        wait_until(lambda: page.evaluate("window.readies") >= 1)
        first = [m["id"] for m in hub.generate().json()["messages"]]
        wait_until(lambda: page.evaluate("window.seen.length") == len(first))
        os.rename(path, away)
        hub._loop.call_soon_threadsafe(hub.app.hub.fanout.close_all)  # every stream reconnects now
        wait_until(lambda: page.evaluate("window.unavailable") >= 1, timeout=60)
        os.rename(away, path)
        second = [m["id"] for m in hub.generate().json()["messages"]]
        wait_until(lambda: page.evaluate("window.seen.length") == len(first) + len(second), timeout=60)
        assert page.evaluate("window.seen") == first + second
        assert page.evaluate("window.readies") >= 2
    finally:
        page.close()


def books(hub: HubProcess) -> dict[str, Any]:
    return dict(web.get(f"{hub.url}/api/agents/performance", timeout=10).json())


def test_leaderboard_shows_each_agents_equity_and_moves_after_a_round(
    open_page: Callable[[], Page], stack: tuple[HubProcess, Dashboard], tmp_path: Path
) -> None:
    """Also the README's picture of the Leaderboard (docs/leaderboard.png with UPDATE_SCREENSHOTS=1)."""
    hub, _ = stack
    pictures = DOCS if os.environ.get("UPDATE_SCREENSHOTS") == "1" else tmp_path
    for _ in range(40):  # curves worth looking at
        newest = generate(hub)[-1]
    page = open_page()
    page.set_viewport_size({"width": 1600, "height": 1500})
    expect(card(page, newest)).to_be_visible(timeout=15_000)
    page.get_by_role("link", name="Leaderboard").click()
    expect(page.get_by_role("heading", name="Leaderboard"), "the click on Leaderboard was lost").to_be_visible(
        timeout=10_000
    )
    before = books(hub)
    for entry in before["agents"]:
        row = page.locator(f".st-key-standing-{entry['agent_id']}")
        expect(row).to_contain_text(whole_money(entry["equity"]), timeout=20_000)
    expect(page.get_by_text(f"Round {before['round']}: all 6 agents")).to_be_visible()
    expect(page.locator("[data-testid='stVegaLiteChart'] .marks").first).to_be_visible(timeout=10_000)
    trades = page.get_by_test_id("stDataFrame").first.or_(page.get_by_text("No trade among"))
    expect(trades).to_be_visible(timeout=10_000)
    settled(page)
    page.screenshot(path=str(pictures / "leaderboard.png"), full_page=True)
    generate(hub)
    after = books(hub)
    expect(page.get_by_text(f"Round {after['round']}: all 6 agents")).to_be_visible(timeout=SHOWN_MS)
    for entry in after["agents"]:
        row = page.locator(f".st-key-standing-{entry['agent_id']}")
        expect(row).to_contain_text(whole_money(entry["equity"]), timeout=SHOWN_MS)


WATCH_BOARD = """() => {
  const host = [...document.querySelectorAll('*')].find((node) => node.shadowRoot?.querySelector('.board'));
  const board = host.shadowRoot.querySelector('.board');
  window.boardChanges = [];
  new MutationObserver((records) => {
    for (const record of records) {
      const node = record.target.nodeType === 1 ? record.target : record.target.parentElement;
      const inAge = node?.closest('.age');
      window.boardChanges.push({
        type: record.type + (record.attributeName ? ` ${record.attributeName}` : ''),
        age: Boolean(inAge),
        added: [...record.addedNodes].map((node) => node.dataset?.id ?? node.nodeName),
        removed: [...record.removedNodes].map((node) => node.dataset?.id ?? node.nodeName),
      });
    }
  }).observe(board, { subtree: true, childList: true, attributes: true, characterData: true });
}"""


def test_a_rerun_that_brings_one_message_adds_its_card_and_changes_nothing_else(
    open_page: Callable[[], Page], stack: tuple[HubProcess, Dashboard]
) -> None:
    hub, _ = stack
    generate(hub)
    page = open_page()
    newest = generate(hub, ["grok_sentiment"])[0]
    expect(card(page, newest)).to_be_visible(timeout=SHOWN_MS)
    page.evaluate(WATCH_BOARD)
    made = generate(hub, ["grok_sentiment"])[0]
    expect(card(page, made)).to_be_visible(timeout=SHOWN_MS)
    changes = page.evaluate("window.boardChanges")
    outside_ages = [change for change in changes if not change["age"]]
    one_card = {"type": "childList", "age": False, "added": [str(made["id"])], "removed": []}
    assert one_card in outside_ages, outside_ages
    # Besides: at most the agent's oldest card, when its column was full (AGENTCHAT_MAX_PER_AGENT).
    others = [change for change in outside_ages if change != one_card]
    shapes = [(change["type"], change["added"], len(change["removed"])) for change in others]
    assert shapes in ([], [("childList", [], 1)]), others
    assert all(int(change["removed"][0]) < made["id"] for change in others), others


def test_a_new_message_is_drawn_from_the_browsers_stream_and_the_rerun_keeps_its_card(
    open_page: Callable[[], Page], stack: tuple[HubProcess, Dashboard]
) -> None:
    """While the session redraws on change, the element draws a picked agent's new message as the browser's
    stream brings it, before the rerun; the rerun that follows (the session's feed has read it) draws the
    same cards: none is drawn twice, removed or replaced."""
    hub, _ = stack
    page = open_page()
    page.evaluate(WATCH_BOARD)
    made = generate(hub, ["claude_arbitrage", "grok_sentiment"])
    for message in made:
        wait_until_sent(page, message)
        expect(card(page, message)).to_have_count(1)
    assert {message["id"] for message in made} <= set(previewed(page))
    changes = page.evaluate("window.boardChanges")
    added = [node for change in changes for node in change["added"]]
    removed = [node for change in changes for node in change["removed"]]
    for message in made:
        assert added.count(str(message["id"])) == 1, changes
        assert str(message["id"]) not in removed, changes


def author(hub: HubProcess, message_id: int) -> str:
    """The agent id of the stored message `message_id` (still in the hub's live window)."""
    first = hub.messages(since_id=message_id - 1)["messages"][0]
    assert first["id"] == message_id, f"message {message_id} is no longer in the live window"
    return str(first["agent_id"])


def test_an_unpicked_agents_message_is_not_drawn_from_the_browsers_stream(
    open_page: Callable[[], Page], stack: tuple[HubProcess, Dashboard]
) -> None:
    hub, _ = stack
    page = open_page()
    page.get_by_role("button", name="Remove Grok Sentiment").click()  # the sidebar's agent picker
    expect(page.locator(".column[data-agent]")).to_have_count(5)  # the element has the pick
    wait_until_previewing(page)
    made = {message["agent_id"]: message for message in generate(hub, ["claude_arbitrage", "grok_sentiment"])}
    wait_until_sent(page, made["claude_arbitrage"])  # the rerun after both arrived
    # A reply to a message of an agent the page does not show is left to the rerun: the page cannot name whom
    # it answers (the card would keep the shorter meta line). Whether Claude's message is one is the market's doing.
    answers = made["claude_arbitrage"]["meta"].get("reply_to")
    names_its_target = answers is None or author(hub, answers) != "grok_sentiment"
    assert (made["claude_arbitrage"]["id"] in previewed(page)) == names_its_target
    assert made["grok_sentiment"]["id"] not in previewed(page)
    expect(card(page, made["grok_sentiment"])).to_have_count(0)


CUT_TEXTS = """() => {
  const host = [...document.querySelectorAll('*')].find((node) => node.shadowRoot?.querySelector('.figures'));
  const texts = host.shadowRoot.querySelectorAll('.figure-label, .figure-value');
  return [...texts].filter((node) => node.scrollWidth > node.clientWidth).map((node) => node.textContent);
}"""


def test_the_figures_and_the_standings_are_drawn_whole_and_move_with_a_round(
    open_page: Callable[[], Page], stack: tuple[HubProcess, Dashboard]
) -> None:
    hub, _ = stack
    generate(hub)
    page = open_page()
    expect(page.locator(".figures .figure")).to_have_count(4, timeout=SHOWN_MS)
    assert page.evaluate(CUT_TEXTS) == []  # every label and value fits its box
    made = generate(hub)
    expect(card(page, made[-1])).to_be_visible(timeout=SHOWN_MS)
    after = books(hub)
    expect(page.locator(".standings")).to_contain_text(f"Round {after['round']}: all 6 agents", timeout=SHOWN_MS)
    for entry in after["agents"]:
        expect(page.locator(f".standing[data-agent='{entry['agent_id']}']")).to_contain_text(
            whole_money(entry["equity"]), timeout=SHOWN_MS
        )
    expect(page.locator(".figure", has_text="Last message").locator(".age")).to_have_count(1)  # moved by the clock


def test_a_rerun_that_brings_one_message_sends_that_message_not_the_window_again(
    browser: Browser, stack: tuple[HubProcess, Dashboard]
) -> None:
    """The page's first run sends the window to the live chat element; a rerun woken by one message sends
    that message, and no message the element already holds."""
    hub, dashboard = stack
    older = generate(hub, ["grok_sentiment"])[0]
    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    frames: list[bytes] = []
    page.on(
        "websocket",
        lambda socket: socket.on(
            "framereceived", lambda frame: frames.append(frame if isinstance(frame, bytes) else frame.encode())
        ),
    )

    def on_the_wire(message: dict[str, Any]) -> bool:
        text = json.dumps(message["content"])[1:-1].encode()  # as the element's JSON data carries it
        return any(text in frame for frame in frames)

    try:
        page.goto(dashboard.url)
        expect(card(page, older)).to_be_visible(timeout=SHOWN_MS)
        wait_until_woken_by_its_stream(page)
        assert on_the_wire(older)
        frames.clear()
        made = generate(hub, ["grok_sentiment"])[0]
        wait_until_sent(page, made)
        assert on_the_wire(made)
        assert not on_the_wire(older)
        expect(card(page, older)).to_be_visible()
    finally:
        page.close()


def test_three_dashboard_tabs_of_one_browser_hold_one_browser_stream(
    browser: Browser, stack: tuple[HubProcess, Dashboard]
) -> None:
    """Each tab is a session with its own feed (3 streams from the server); the browser holds 1 between them."""
    hub, dashboard = stack

    def clients() -> int:
        return int(web.get(f"{hub.url}/healthz", timeout=5).json()["clients"])

    wait_until(lambda: clients() == 0, timeout=20)  # tabs of earlier tests are released by now
    context = browser.new_context(viewport={"width": 1600, "height": 1000})  # one browser profile
    try:
        pages = []
        for _ in range(3):
            page = context.new_page()
            page.goto(dashboard.url)
            expect(page.get_by_text("🟢 Real-time (SSE)")).to_be_visible(timeout=20_000)
            wait_until_woken_by_its_stream(page)
            pages.append(page)
        wait_until(lambda: clients() == 3 + 1, timeout=20)
        roles = sorted(page.evaluate("() => [...window.__agentchatStreams.values()][0].role") for page in pages)
        assert roles == ["held", "shared", "shared"]
        made = generate(hub, ["claude_arbitrage"])
        for page in pages:  # each woken through the one stream
            expect(card(page, made[0])).to_contain_text(made[0]["content"][:60], timeout=SHOWN_MS)
        assert clients() == 3 + 1
    finally:
        context.close()


def test_the_tabs_layout_shows_one_agents_cards_at_a_time(
    open_page: Callable[[], Page], stack: tuple[HubProcess, Dashboard]
) -> None:
    hub, _ = stack
    made = {message["agent_id"]: message for message in generate(hub, ["claude_arbitrage", "grok_sentiment"])}
    page = open_page()
    page.get_by_text("Tabs", exact=True).click()
    expect(page.get_by_role("tab", name="Claude Arbitrage")).to_have_attribute("aria-selected", "true", timeout=10_000)
    expect(card(page, made["claude_arbitrage"])).to_be_visible()
    expect(card(page, made["grok_sentiment"])).to_be_hidden()
    page.get_by_role("tab", name="Grok Sentiment").click()
    expect(card(page, made["grok_sentiment"])).to_be_visible()
    expect(card(page, made["claude_arbitrage"])).to_be_hidden()
    newer = generate(hub, ["grok_sentiment"])[0]  # a redraw keeps the tab the operator chose
    expect(card(page, newer)).to_be_visible(timeout=SHOWN_MS)
    expect(page.get_by_role("tab", name="Grok Sentiment")).to_have_attribute("aria-selected", "true")
