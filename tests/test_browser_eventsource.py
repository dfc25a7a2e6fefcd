"""A native EventSource on another origin survives a store outage during its reconnect (issue 13, point 1).

Chromium's own EventSource, on a page served from another port (so another origin, allowed by
`AGENTCHAT_CORS_ORIGINS`), is cut off by the hub while the SQLite file is away; its resume gets
`event: unavailable` with `retry:`, and it must come back by itself once the store is back and
see every message exactly once.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from playwright.sync_api import sync_playwright

from tests.support import InProcessHub, wait_until

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"browser tests need Chromium at {CHROMIUM}"),
]

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
    start_hub: Callable[..., InProcessHub], page_origin: str
) -> None:
    hub = start_hub(cors_origins=page_origin)
    assert hub.app is not None
    database = sa.make_url(hub.settings.database_url).database
    assert database is not None
    path, away = Path(database), Path(database + ".away")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--headless", "--no-sandbox"])
        try:
            page = browser.new_page()
            page.goto(f"{page_origin}/?hub={hub.url}")
            wait_until(lambda: page.evaluate("window.readies") >= 1)
            first = [m["id"] for m in hub.generate().json()["messages"]]
            wait_until(lambda: page.evaluate("window.seen.length") == len(first))
            os.rename(path, away)
            hub._loop.call_soon_threadsafe(hub.app.hub.fanout.close_all)  # every stream reconnects now
            wait_until(lambda: page.evaluate("window.unavailable") >= 1, timeout=20)
            os.rename(away, path)
            second = [m["id"] for m in hub.generate().json()["messages"]]
            wait_until(lambda: page.evaluate("window.seen.length") == len(first) + len(second), timeout=20)
            assert page.evaluate("window.seen") == first + second
            assert page.evaluate("window.readies") >= 2
        finally:
            browser.close()
