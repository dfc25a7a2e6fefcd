"""POST -> card visible on the hub's viewer page, with 1 and with 20 tabs of one browser.

For each tab count: a fresh hub (`python -m agentchat hub`, SQLite, no access log) and a fresh
Chromium profile with that many tabs on `/`. Each tab watches its `<agent-chat>` with a
MutationObserver and notes, in the animation frame after a card is added, the wall-clock time
(`performance.timeOrigin + performance.now()`); the script notes the wall-clock time just before
each POST of a one-agent round, so a latency is POST -> the frame that paints the card, in every
tab. A round is posted every 0.25 s (open loop; the script does not talk to the browser meanwhile),
and the POST's own answer time is printed beside, for scale. Also printed: the hub's CPU
time over the rounds (user + sys, from /proc) and its open and total SSE connections, which with
one stream per browser are 1 and 1 however many tabs.

    python bench/viewer.py [--rounds 50] [--tabs 1,20]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import Browser, Page, expect, sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agentchat.agents import BUILTIN_ROSTER
from tests.kit.hubs import HubProcess
from tests.kit.processes import cpu_seconds

CHROMIUM = "/usr/bin/chromium"
INTERVAL_SECONDS = 0.25
UNSHARED_WAIT_SECONDS = 10.0
WATCH = """() => {
  window.cardSeenAt = {};
  const root = document.querySelector("agent-chat").shadowRoot;
  new MutationObserver((records) => {
    for (const record of records) {
      for (const node of record.addedNodes) {
        const id = node.dataset && node.dataset.id;
        if (id) requestAnimationFrame(() => { window.cardSeenAt[id] ??= performance.timeOrigin + performance.now(); });
      }
    }
  }).observe(root, { childList: true, subtree: true });
  return document.visibilityState;
}"""


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def run(browser: Browser, tabs: int, rounds: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as workdir:
        hub = HubProcess(f"sqlite:///{workdir}/bench.db", Path(workdir), access_log="false").start()
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        try:
            pages: list[Page] = []
            for _ in range(tabs):
                page = context.new_page()
                page.goto(hub.url)
                expect(page.locator("agent-chat .pill")).to_have_text("🟢 Real-time (SSE)", timeout=20_000)
                pages.append(page)
            visibility = {page.evaluate(WATCH) for page in pages}
            held = [page.locator("agent-chat").get_attribute("data-stream") == "held" for page in pages]
            hub.generate(["claude_arbitrage"])  # warm up
            assert hub.process is not None
            cpu_before = cpu_seconds(hub.process.pid)
            posted_at: dict[int, float] = {}
            answered_ms: list[float] = []
            for index in range(rounds):
                agent = BUILTIN_ROSTER[index % len(BUILTIN_ROSTER)].id
                posted = time.time() * 1000
                message_id = int(hub.generate([agent]).json()["messages"][0]["id"])
                answered_ms.append(time.time() * 1000 - posted)
                posted_at[message_id] = posted
                time.sleep(INTERVAL_SECONDS)  # open loop: no browser call while the round is delivered
            every_id = [str(message_id) for message_id in posted_at]
            for page in pages:
                page.wait_for_function("ids => ids.every(id => window.cardSeenAt[id])", arg=every_id, timeout=30_000)
            cpu = cpu_seconds(hub.process.pid) - cpu_before
            holder_ms: list[float] = []
            other_ms: list[float] = []
            for page, is_holder in zip(pages, held, strict=True):
                seen = page.evaluate("window.cardSeenAt")
                latencies = [seen[str(message_id)] - posted for message_id, posted in posted_at.items()]
                (holder_ms if is_holder or tabs == 1 else other_ms).extend(latencies)
            every = holder_ms + other_ms
            return {
                "tabs": tabs,
                "cards": len(every),
                "p50": statistics.median(every),
                "p99": percentile(every, 0.99),
                "post_p50": statistics.median(answered_ms),
                "post_p99": percentile(answered_ms, 0.99),
                "holder_p50": statistics.median(holder_ms),
                "others_p50": statistics.median(other_ms) if other_ms else float("nan"),
                "cpu_ms_per_round": cpu * 1000 / rounds,
                "open": hub.metric("agentchat_clients_connected"),
                "opened": hub.metric("agentchat_clients_connections_total"),
                "hidden": float("hidden" in visibility),
            }
        finally:
            context.close()
            hub.stop()


def run_unshared(browser: Browser, tabs: int) -> float:
    """Tabs without Web Locks, each holding its own stream: how many streams the hub gets in a while.

    Past the browser's six connections per host, a tab cannot even load the page, so this asks
    only the hub, and never a tab (a call into a tab that is still loading would wait for it).
    """
    with tempfile.TemporaryDirectory() as workdir:
        hub = HubProcess(f"sqlite:///{workdir}/bench.db", Path(workdir), access_log="false").start()
        context = browser.new_context()
        context.add_init_script("delete Navigator.prototype.locks")
        try:
            for _ in range(tabs):
                context.new_page().evaluate("url => { location.href = url; }", hub.url)
            deadline = time.monotonic() + UNSHARED_WAIT_SECONDS
            while time.monotonic() < deadline and hub.metric("agentchat_clients_connected") < tabs:
                time.sleep(0.25)
            return hub.metric("agentchat_clients_connected")
        finally:
            context.close()
            hub.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--tabs", default="1,20", help="comma-separated tab counts")
    args = parser.parse_args()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox"])
        results = [run(browser, int(tabs), args.rounds) for tabs in args.tabs.split(",")]
        unshared_tabs = max(int(tabs) for tabs in args.tabs.split(","))
        unshared = run_unshared(browser, unshared_tabs)
        browser.close()
    print(f"{args.rounds} one-agent rounds, POST -> card painted, in every tab")
    print(
        f"{'tabs':>4}  {'cards':>5}  {'p50 ms':>7}  {'p99 ms':>7}  {'holder p50':>10}  {'others p50':>10}"
        f"  {'POST answered p50/p99':>21}"
        f"  {'hub CPU ms/round':>16}  {'streams open':>12}  {'streams opened':>14}"
    )
    for row in results:
        print(
            f"{row['tabs']:>4}  {row['cards']:>5}  {row['p50']:>7.1f}  {row['p99']:>7.1f}  {row['holder_p50']:>10.1f}"
            f"  {row['others_p50']:>10.1f}  {row['post_p50']:>10.1f} /{row['post_p99']:>8.1f}"
            f"  {row['cpu_ms_per_round']:>16.2f}"
            f"  {row['open']:>12.0f}  {row['opened']:>14.0f}"
        )
        if row["hidden"]:
            print("  (some tabs were hidden: their animation frames are throttled)")
    print(
        f"without Web Locks, {unshared_tabs} tabs of one browser each opening a stream:"
        f" {unshared:.0f} streams open on the hub within {UNSHARED_WAIT_SECONDS:g} s"
    )


if __name__ == "__main__":
    main()
