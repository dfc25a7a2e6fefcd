"""The viewer page and `<agent-chat>` in a real browser: Debian's Chromium driven by Playwright, real hubs.

One browser for the module; each test gets a fresh browser context, which is a browser of its own
for Web Locks and BroadcastChannel, so its tabs share a stream with each other and with nothing
else. The README's picture of the page comes from the last test:
`UPDATE_SCREENSHOTS=1 python -m pytest tests/test_viewer.py`.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, Route, expect

from agentchat.agents import BUILTIN_ROSTER
from tests.kit.aging import age_messages
from tests.kit.browser import BROWSER_MARKS
from tests.kit.fake_llm import MODEL, FakeLlm
from tests.kit.http import HubClientMixin
from tests.kit.hubs import HubProcess, InProcessHub
from tests.kit.paths import ROOT
from tests.kit.ports import free_port
from tests.kit.viewer_page import ERROR, PAYLOAD, POLLING, REALTIME, TIMEOUT_MS, card, context, open_tab
from tests.kit.waits import wait_until

pytestmark = BROWSER_MARKS
__all__ = ["context"]  # the browser profile fixture (tests/kit/viewer_page.py), dialogs and CSP watched

CONNECTED, CONNECTIONS = "agentchat_clients_connected", "agentchat_clients_connections_total"
STREAM = re.compile(r"/api/chat/stream")
MESSAGES = "/api/chat/messages"


def column_ids(page: Page, agent_id: str) -> list[int]:
    ids = page.locator(f"agent-chat .column[data-agent='{agent_id}'] .card")
    return [int(value) for value in ids.evaluate_all("cards => cards.map(card => card.dataset.id)")]


def generate(hub: HubClientMixin, agents: list[str] | None = None) -> list[dict[str, Any]]:
    response = hub.generate(agents)
    assert response.status_code == 201, response.text
    return list(response.json()["messages"])


def holder(pages: list[Page]) -> Page:
    held = [page for page in pages if page.locator("agent-chat").get_attribute("data-stream") == "held"]
    assert len(held) == 1, f"{len(held)} tabs hold the stream"
    return held[0]


def test_a_posted_message_is_on_the_page_by_its_stream(hub: HubProcess, context: BrowserContext) -> None:
    """Pushed by the stream: the page's poll (only while the stream is down) is 45 s away (bench/viewer.py
    measures how fast)."""
    page = open_tab(context, hub.url)
    made = generate(hub, ["grok_sentiment"])
    expect(card(page, made[0])).to_contain_text(made[0]["content"], timeout=TIMEOUT_MS)
    expect(page.locator("agent-chat .pill")).to_have_text(REALTIME)


def test_each_column_keeps_the_newest_messages_up_to_the_hubs_max_per_agent(
    start_hub: Callable[..., InProcessHub], context: BrowserContext
) -> None:
    hub = start_hub(max_per_agent=2)
    rounds = [generate(hub, ["grok_sentiment"]) for _ in range(3)]
    page = open_tab(context, hub.url)
    rounds.append(generate(hub, ["grok_sentiment"]))
    newest = [made[0]["id"] for made in reversed(rounds)][:2]
    expect(card(page, rounds[-1][0])).to_be_visible()
    assert column_ids(page, "grok_sentiment") == newest


def test_four_tabs_of_one_browser_hold_one_stream(
    start_hub: Callable[..., InProcessHub], context: BrowserContext
) -> None:
    hub = start_hub(heartbeat_seconds=2)
    pages = [open_tab(context, hub.url) for _ in range(4)]
    made = generate(hub)
    for page in pages:
        for message in made:
            expect(card(page, message)).to_be_visible()
    holder(pages)
    assert hub.metric(CONNECTED) == 1
    assert hub.metric(CONNECTIONS) == 1


def test_closing_the_holder_tab_hands_the_stream_over_with_every_message_once(
    start_hub: Callable[..., InProcessHub], context: BrowserContext
) -> None:
    hub = start_hub(heartbeat_seconds=2)
    pages = [open_tab(context, hub.url) for _ in range(3)]
    before = generate(hub)
    for page in pages:
        expect(card(page, before[-1])).to_be_visible()
    closing = holder(pages)
    closing.close()
    pages.remove(closing)
    during = generate(hub)  # while another tab takes the stream over: replayed from its last id, or live
    wait_until(lambda: sum(page.locator("agent-chat[data-stream='held']").count() for page in pages) == 1)
    after = generate(hub)
    every = before + during + after
    for page in pages:
        expect(page.locator("agent-chat .card")).to_have_count(len(every))
        for message in every:
            expect(card(page, message)).to_have_count(1)
    wait_until(lambda: hub.metric(CONNECTED) == 1)
    assert hub.metric(CONNECTIONS) == 2


def test_kill_and_restart_of_the_hub_shows_every_message_once_in_order(
    start_hub_process: Callable[..., HubProcess], context: BrowserContext
) -> None:
    start_hub = start_hub_process  # kill -9 needs a process of its own
    port = free_port()
    first = start_hub(port=port, heartbeat_seconds=1)
    page = open_tab(context, f"{first.url}/?poll_seconds=0.5")
    made = generate(first) + generate(first)
    expect(card(page, made[-1])).to_be_visible()
    first.kill()
    expect(page.locator("agent-chat .pill")).to_have_text(ERROR, timeout=TIMEOUT_MS)
    second = start_hub(port=port, heartbeat_seconds=1)
    made += generate(second)
    expect(page.locator("agent-chat .pill")).to_have_text(REALTIME, timeout=TIMEOUT_MS)
    made += generate(second)
    expect(page.locator("agent-chat .card")).to_have_count(len(made))
    for agent in BUILTIN_ROSTER:
        expected = sorted((message["id"] for message in made if message["agent_id"] == agent.id), reverse=True)
        assert column_ids(page, agent.id) == expected


def test_a_resume_past_messages_the_hub_no_longer_keeps_shows_the_gap_notice(
    start_hub_process: Callable[..., HubProcess], context: BrowserContext
) -> None:
    start_hub = start_hub_process  # kill -9 needs a process of its own
    port = free_port()
    first = start_hub(port=port)
    page = open_tab(context, f"{first.url}/?poll_seconds=0.5")
    seen = generate(first, ["grok_sentiment"])
    expect(card(page, seen[0])).to_be_visible()
    expect(page.locator("agent-chat .gap")).to_be_hidden()

    def refuse(route: Route) -> None:
        route.abort()

    context.route(STREAM, refuse)
    context.route(re.compile(MESSAGES), refuse)
    first.kill()
    expect(page.locator("agent-chat .pill")).to_have_text(ERROR, timeout=TIMEOUT_MS)
    second = start_hub(port=port, max_per_agent=1)  # the window: the retention, or the latest
    missed = generate(second, ["grok_sentiment"])
    second.terminate()
    age_messages(second.env["AGENTCHAT_DATABASE_URL"], 3600)  # an hour old: past the retention, by the store's clock
    second.start()  # on the same port, its window read anew
    fresh = generate(second, ["grok_sentiment"])  # the agent's latest: `missed` leaves the window
    assert missed[0]["id"] not in [m["id"] for m in second.messages(since_id=0)["messages"]]
    context.unroute(STREAM, refuse)  # the stream resumes from the last id seen, before what retention removed
    expect(page.locator("agent-chat .gap")).to_be_visible(timeout=TIMEOUT_MS)
    expect(card(page, fresh[0])).to_be_visible()
    expect(card(page, missed[0])).to_have_count(0)


def test_a_blocked_stream_falls_back_to_polling_then_returns_to_real_time(
    hub: HubProcess, context: BrowserContext
) -> None:
    def refuse(route: Route) -> None:
        route.abort()

    context.route(STREAM, refuse)
    page = open_tab(context, f"{hub.url}/?poll_seconds=0.5", pill=POLLING)
    polled = generate(hub, ["llama_maker"])
    expect(card(page, polled[0])).to_be_visible(timeout=TIMEOUT_MS)
    with page.expect_response(lambda response: MESSAGES in response.url and response.status == 304):
        pass  # the next poll asks with If-None-Match, and nothing new is 304
    context.unroute(STREAM, refuse)
    expect(page.locator("agent-chat .pill")).to_have_text(REALTIME, timeout=TIMEOUT_MS)
    streamed = generate(hub, ["llama_maker"])
    expect(card(page, streamed[0])).to_be_visible()
    assert column_ids(page, "llama_maker") == [streamed[0]["id"], polled[0]["id"]]


@pytest.fixture
def fake_llm() -> Iterator[FakeLlm]:
    fake = FakeLlm(mode="text", text=PAYLOAD)
    yield fake
    fake.close()


def test_html_in_a_message_is_shown_as_text(
    start_hub: Callable[..., InProcessHub], fake_llm: FakeLlm, context: BrowserContext
) -> None:
    hub = start_hub(llm_base_url=fake_llm.base_url, llm_model=MODEL)
    page = open_tab(context, hub.url)
    made = generate(hub, ["mistral_macro"])
    assert made[0]["content"] == PAYLOAD
    expect(card(page, made[0]).locator(".content")).to_have_text(PAYLOAD)
    assert page.locator("agent-chat img, agent-chat script, agent-chat a").count() == 0


class Site:
    """A page of another origin (127.0.0.1 on its own port) that embeds `<agent-chat>` from a hub."""

    def __init__(self) -> None:
        self.html = b""
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(site.html)))
                self.end_headers()
                self.wfile.write(site.html)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def embed(self, hub_url: str, agents: str, poll_seconds: float = 45) -> None:
        self.html = (
            f'<!doctype html><title>a site</title><script type="module" src="{hub_url}/agentchat.js"></script>'
            f'<h1>Our desk</h1><agent-chat hub="{hub_url}" agents="{agents}" poll-seconds="{poll_seconds}">'
            "</agent-chat>"
        ).encode()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(10)


@pytest.fixture
def site() -> Iterator[Site]:
    site = Site()
    yield site
    site.close()


def test_the_element_on_another_origin_works_when_the_hub_allows_that_origin(
    start_hub: Callable[..., InProcessHub], site: Site, context: BrowserContext
) -> None:
    hub = start_hub(cors_origins=site.url)
    site.embed(hub.url, "grok_sentiment,claude_arbitrage")
    page = open_tab(context, site.url)
    expect(page.locator("agent-chat .column")).to_have_count(2)
    made = generate(hub, ["grok_sentiment"])
    expect(card(page, made[0])).to_contain_text(made[0]["content"])


def test_the_element_on_another_origin_polls_through_cors_while_its_stream_is_blocked(
    start_hub: Callable[..., InProcessHub], site: Site, context: BrowserContext
) -> None:
    hub = start_hub(cors_origins=site.url)
    site.embed(hub.url, "grok_sentiment", poll_seconds=0.5)
    context.route(STREAM, lambda route: route.abort())
    page = open_tab(context, site.url, pill=POLLING)
    made = generate(hub, ["grok_sentiment"])
    expect(card(page, made[0])).to_contain_text(made[0]["content"], timeout=TIMEOUT_MS)
    with page.expect_response(lambda response: MESSAGES in response.url and response.status == 304):
        pass  # If-None-Match passes the CORS preflight


def test_the_element_on_another_origin_is_refused_when_the_hub_does_not_allow_it(
    hub: HubProcess, site: Site, context: BrowserContext
) -> None:
    generate(hub, ["grok_sentiment"])
    site.embed(hub.url, "grok_sentiment")
    page = open_tab(context, site.url, pill=ERROR)
    expect(page.locator("agent-chat .reason")).to_contain_text("AGENTCHAT_CORS_ORIGINS")
    expect(page.locator("agent-chat .card")).to_have_count(0)


def test_tabs_without_web_locks_each_hold_their_own_stream(
    start_hub: Callable[..., InProcessHub], context: BrowserContext
) -> None:
    hub = start_hub(heartbeat_seconds=2)
    context.add_init_script("delete Navigator.prototype.locks")
    pages = [open_tab(context, hub.url) for _ in range(2)]
    made = generate(hub, ["gemini_reversion"])
    for page in pages:
        expect(card(page, made[0])).to_be_visible()
        expect(page.locator("agent-chat")).to_have_attribute("data-stream", "own")
    assert hub.metric(CONNECTED) == 2


def test_the_page_is_pictured_for_the_readme(hub: HubProcess, context: BrowserContext, tmp_path: Path) -> None:
    """Written to docs/viewer.png when UPDATE_SCREENSHOTS=1, else to a temporary folder."""
    pictures = ROOT / "docs" if os.environ.get("UPDATE_SCREENSHOTS") == "1" else tmp_path
    for _ in range(3):
        generate(hub)
    page = open_tab(context, hub.url)
    page.set_viewport_size({"width": 1600, "height": 1000})
    expect(page.locator("agent-chat .card")).to_have_count(18)
    page.screenshot(path=str(pictures / "viewer.png"))


@pytest.mark.parametrize("new_store_rounds", [1, 4], ids=["ids below the page's position", "ids beyond it"])
def test_another_store_behind_the_hub_replaces_every_card_with_that_stores_messages(
    start_hub: Callable[..., InProcessHub], context: BrowserContext, tmp_path: Path, new_store_rounds: int
) -> None:
    """After a reset database the old cards' ids name other messages: none of them may stay, none be hidden."""
    first = start_hub(heartbeat_seconds=1, max_per_agent=10)
    old = generate(first) + generate(first)
    pages = [open_tab(context, f"{first.url}/?poll_seconds=0.5") for _ in range(2)]  # a holder and a follower
    for page in pages:
        expect(page.locator("agent-chat .card")).to_have_count(len(old))
    first.stop()
    replaced = start_hub(
        database_url=f"sqlite:///{tmp_path / 'replaced.db'}", port=first.port, heartbeat_seconds=1, max_per_agent=10
    )
    made = [message for _ in range(new_store_rounds) for message in generate(replaced)]
    for page in pages:
        expect(page.locator("agent-chat .card")).to_have_count(len(made), timeout=TIMEOUT_MS)
        for message in made:
            expect(card(page, message)).to_contain_text(str(message["content"]))
    made += generate(replaced)
    for page in pages:  # the next round may come by the page's poll, after its stream's retry: not a delivery bound
        expect(page.locator("agent-chat .card")).to_have_count(len(made), timeout=TIMEOUT_MS)
        for agent in BUILTIN_ROSTER:
            expected = sorted((message["id"] for message in made if message["agent_id"] == agent.id), reverse=True)
            assert column_ids(page, agent.id) == expected
