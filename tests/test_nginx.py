"""Two hub processes on PostgreSQL behind a real nginx, configured by the README's own `nginx` block.

The README's configuration is what an operator copies, so it is what is tested: the block is taken
from the README, only its upstream addresses and its listen port are pointed at this machine.
Through it: events arrive unbuffered, a killed hub is passed over with every message once, and
with no hub at all the stream still answers an EventSource with `event: unavailable`, so a
browser keeps coming back and is live again when a hub returns.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from agentchat import RealtimeAgentMessages
from agentchat.agents import BUILTIN_ROSTER
from tests.kit import web
from tests.kit.browser import CHROMIUM
from tests.kit.hubs import HubProcess
from tests.kit.paths import ROOT
from tests.kit.ports import free_port
from tests.kit.sse import SseReader
from tests.kit.waits import answers, wait_until

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
pytestmark = pytest.mark.skipif(not Path(NGINX).exists(), reason="the proxy tests need nginx (apt-get install nginx)")

README_UPSTREAMS = ("10.0.0.11:8000", "10.0.0.12:8000")
REALTIME = "🟢 Real-time (SSE)"


def readme_nginx_block() -> str:
    found = re.search(r"```nginx\n(.*?)```", (ROOT / "README.md").read_text(), re.DOTALL)
    assert found, "the README has no ```nginx block"
    return found.group(1)


class Nginx:
    """nginx in the foreground with the README's server block, its files in a folder of its own."""

    def __init__(self, folder: Path, upstreams: tuple[str, str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.folder = folder
        block = readme_nginx_block().replace("listen 80;", f"listen 127.0.0.1:{self.port};")
        for readme_address, address in zip(README_UPSTREAMS, upstreams, strict=True):
            assert readme_address in block
            block = block.replace(readme_address, address)
        temp = {name: folder / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
        for path in temp.values():
            path.mkdir(parents=True, exist_ok=True)
        (folder / "nginx.conf").write_text(
            f"daemon off;\nworker_processes 1;\npid {folder / 'nginx.pid'};\nerror_log {folder / 'error.log'} info;\n"
            "events { worker_connections 256; }\n"
            f"http {{\naccess_log off;\nclient_body_temp_path {temp['body']};\nproxy_temp_path {temp['proxy']};\n"
            f"fastcgi_temp_path {temp['fastcgi']};\nuwsgi_temp_path {temp['uwsgi']};\nscgi_temp_path {temp['scgi']};\n"
            f"{block}\n}}\n"
        )
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Nginx:
        config = str(self.folder / "nginx.conf")
        checked = subprocess.run([NGINX, "-t", "-p", str(self.folder), "-c", config], capture_output=True, text=True)
        assert checked.returncode == 0, f"the README's nginx block does not load: {checked.stderr}"
        self.process = subprocess.Popen(
            [NGINX, "-p", str(self.folder), "-c", config], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_until(lambda: answers(f"{self.url}/healthz"), timeout=30)
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


@pytest.fixture
def hubs(start_hub_process: Callable[..., HubProcess], postgres_url: str) -> list[HubProcess]:
    """Two hub processes on one PostgreSQL database: what the README's nginx block balances."""
    hubs = [start_hub_process(database_url=postgres_url, heartbeat_seconds=0.5, wait=False) for _ in range(2)]
    for hub in hubs:  # started side by side
        hub.wait_healthy()
    return hubs


@pytest.fixture
def proxy(hubs: list[HubProcess], tmp_path: Path) -> Iterator[Nginx]:
    nginx = Nginx(tmp_path / "nginx", (f"127.0.0.1:{hubs[0].port}", f"127.0.0.1:{hubs[1].port}")).start()
    yield nginx
    nginx.stop()


def generate(proxy: Nginx) -> list[dict[str, object]]:
    response = web.post(f"{proxy.url}/api/chat/generate", json={}, timeout=10)
    assert response.status_code == 201, response.text
    return list(response.json()["messages"])


def test_through_nginx_each_event_arrives_while_the_stream_stays_open(proxy: Nginx) -> None:
    reader = SseReader(f"{proxy.url}/api/chat/stream").start()
    try:
        reader.next("ready")
        made = generate(proxy)
        assert [message["id"] for message in reader.messages(len(made))] == [message["id"] for message in made]
        reader.next("heartbeat")  # a buffering proxy would hold these back until its buffer filled
    finally:
        reader.close()


def test_a_same_origin_browser_post_through_nginx_is_not_taken_for_a_cross_site_one(proxy: Nginx) -> None:
    """The proxy passes the browser's Host on, so the hub's Origin check sees its own origin."""
    response = web.post(f"{proxy.url}/api/chat/generate", json={}, headers={"Origin": proxy.url}, timeout=10)
    assert response.status_code == 201, response.text
    refused = web.post(f"{proxy.url}/api/chat/generate", json={}, headers={"Origin": "http://elsewhere.example"})
    assert refused.status_code == 403 and refused.json()["error"] == "forbidden"


def test_a_killed_hub_is_passed_over_and_the_feed_gets_every_message_once(hubs: list[HubProcess], proxy: Nginx) -> None:
    feed = RealtimeAgentMessages(proxy.url, max_per_agent=50, fallback_poll_interval=0.5, max_backoff_seconds=0.5)
    try:
        wait_until(lambda: feed.state == "realtime", timeout=30)
        made = generate(proxy)
        wait_until(lambda: len(feed.messages) == len(made), timeout=30)
        hubs[0].kill()  # the stream on it (if it was there) drops; nginx sends the rest to the other
        for _ in range(3):
            made += generate(proxy)
        wait_until(lambda: len(feed.messages) == len(made), timeout=30)
        wait_until(lambda: feed.state == "realtime", timeout=30)
        made += generate(proxy)
        wait_until(lambda: len(feed.messages) == len(made), timeout=30)
        assert [message["id"] for message in feed.messages] == [message["id"] for message in reversed(made)]
    finally:
        feed.close()


def test_with_no_hub_up_the_stream_still_answers_an_eventsource_with_unavailable(
    hubs: list[HubProcess], proxy: Nginx
) -> None:
    for hub in hubs:
        hub.kill()
    response = web.get(f"{proxy.url}/api/chat/stream", timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert "retry: 3000\nevent: unavailable\n" in response.text
    assert '"error":"hub_unreachable"' in response.text


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason=f"the browser test needs Debian's Chromium at {CHROMIUM}")
def test_the_viewer_behind_nginx_comes_back_live_after_every_hub_was_killed(
    start_hub_process: Callable[..., HubProcess],
    hubs: list[HubProcess],
    proxy: Nginx,
    postgres_url: str,
    browser: Browser,
) -> None:
    page = browser.new_page()
    page.goto(f"{proxy.url}/?poll_seconds=0.5")
    pill = page.locator("agent-chat .pill")
    expect(pill).to_have_text(REALTIME, timeout=15_000)
    made = generate(proxy)
    expect(page.locator(f"agent-chat .card[data-id='{made[-1]['id']}']")).to_be_visible()
    for hub in hubs:
        hub.kill()
    expect(pill).not_to_have_text(REALTIME, timeout=15_000)
    start_hub_process(database_url=postgres_url, port=hubs[0].port, heartbeat_seconds=0.5)
    # nginx tries a failed server again only after its fail_timeout (10 s in the README's block); a try
    # that lands while the hub is still starting disables it for another 10 s, so allow two of them.
    wait_until(lambda: answers(f"{proxy.url}/healthz"), timeout=30)
    made += generate(proxy)
    expect(pill).to_have_text(REALTIME, timeout=20_000)  # the EventSource never gave up
    made += generate(proxy)
    expect(page.locator("agent-chat .card")).to_have_count(len(made), timeout=10_000)
    assert len(made) == 3 * len(BUILTIN_ROSTER)
