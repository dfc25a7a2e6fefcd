"""The operator's dashboard under N open sessions: a Streamlit element per card (old) and one element (new).

For each session count and each mode, a fresh dashboard (`streamlit run app.py`, pinned to core 0
with `taskset`) in front of one hub (SQLite, no access log) that holds a full retention window
(20 messages for each of the 6 agents, 120 cards on every page). This script, the hub and
Chromium (headless) run on core 1. Each session is a page of its own browser context: an
operator of a desk has a browser of their own.

Per row:

- **opened**: pages showing their full window within `OPEN_SECONDS` (all loading at once); **open s**:
  when the last of them did, from the first page's request (the margin left under the deadline);
  **Chromium s/page**: Chromium's CPU from the first request until the last page opened, per page;
- **idle CPU**: the Streamlit process's CPU time (user + sys, /proc) over `--idle` seconds with every
  page open and nothing posted, per session per second; beside it, the same less what the server
  costs with no session at all (measured first, `BASELINE_SECONDS`); **Chromium idle**: Chromium's CPU
  over the same seconds, per session per second (an open page's own timers and refreshes);
- **POST -> card**: a one-agent round is posted every `--interval` seconds (open loop); each page
  notes (MutationObserver, wall clock, inside the element's shadow root too) when the new message's
  card enters its DOM; a latency is the POST's sending -> that moment, over all sessions: p50 and p99
  (from the sending, not the reply: the hub broadcasts a message before it answers the POST, and a page
  draws it as its stream brings it);
- **missed**: cards not in a page within `MISS_SECONDS` of their POST;
- **CPU per rerun**: the Streamlit process's CPU over the rounds, less its idle rate, per woken
  session rerun (rounds x sessions); **Chromium CPU**: Chromium's processes' CPU over the rounds,
  per round per session;
- **streams, 3 tabs**: browser streams on the hub (`agentchat_clients_connected` less the sessions'
  own feeds) while three dashboard tabs of one browser profile are open (one row per mode, at the
  first session count);
- **RSS** of the Streamlit process at the end of the row.

`elements` is `AGENTCHAT_DASHBOARD_CARDS=elements` (a bordered container, a heading, a text and a
caption per card, rebuilt by Streamlit's frontend at every rerun), `element` the default (one
Custom Components v2 element, cards drawn by the browser module keyed by message id). Both redraw
on change and share the browser's one stream. The last lines give the ratio elements / element.
`element15` is the element with the live area redrawn every 15 s with nothing new, as it was
before `AGENTCHAT_DASHBOARD_REFRESH_SECONDS` (60 s): `--modes element15,element` runs the two side
by side.

    python bench/dashboard.py [--sessions 1,10,25] [--rounds 5] [--interval 4] [--idle 10]

`--soak SECONDS` instead holds `--sessions` (one count) open for that long, a round every
`--interval` seconds, with one session closed and a new one opened each round (operators come and
go), and prints the Streamlit process's threads and RSS and the hub's open streams every
`SAMPLE_SECONDS`: they stay flat when each tab's feed is released with its session.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agentchat.agents import BUILTIN_ROSTER
from tests.kit.browser import CHROMIUM, CHROMIUM_ARGS, Dashboard
from tests.kit.hubs import HubProcess
from tests.kit.ports import free_port
from tests.kit.processes import chromium_cpu_seconds, cpu_seconds

MODES: dict[str, dict[str, str]] = {  # each mode's dashboard settings
    "elements": {"AGENTCHAT_DASHBOARD_CARDS": "elements"},
    "element": {"AGENTCHAT_DASHBOARD_CARDS": "element"},
    "element15": {"AGENTCHAT_DASHBOARD_CARDS": "element", "AGENTCHAT_DASHBOARD_REFRESH_SECONDS": "15"},
}
DEFAULT_MODES = ("elements", "element")
MISS_SECONDS = 15.0
OPEN_SECONDS = 90.0
SETTLE_SECONDS = 3.0
BASELINE_SECONDS = 8.0
SAMPLE_SECONDS = 30.0
STREAMLIT_CORE, OTHER_CORE = 0, 1
BACKGROUND_ARGS = [  # every page is someone's foreground: no throttled timers or sockets in the other tabs
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
]
WATCH = """() => {
  window.cardSeenAt = {};
  const seen = (id) => { window.cardSeenAt[id] ??= performance.timeOrigin + performance.now(); };
  const note = (node) => {
    if (!(node instanceof Element)) return;
    for (const element of [node, ...node.querySelectorAll("[class*='st-key-message-'], article.card")]) {
      const match = /st-key-message-(\\d+)/.exec(element.className);
      if (match) seen(match[1]);
      else if (element.localName === "article" && element.dataset.id) seen(element.dataset.id);
    }
  };
  const observer = new MutationObserver((records) => {
    for (const record of records) {
      record.addedNodes.forEach(note);
      if (record.type === "attributes") note(record.target);  // a card drawn into an element already there
    }
  });
  observer.observe(document.body, { childList: true, subtree: true, attributes: true, attributeFilter: ["class"] });
  for (const host of document.querySelectorAll("*")) {  // the live chat element's cards are in its shadow root
    if (host.shadowRoot?.querySelector(".board")) observer.observe(host.shadowRoot, { childList: true, subtree: true });
  }
}"""
CARDS = "[class*='st-key-message-'], article.card"


@dataclass(frozen=True)
class Row:
    mode: str
    sessions: int
    opened: int  # pages showing their full window within OPEN_SECONDS
    open_seconds: float  # when the last of them showed it, from the first page's request
    chromium_open_s: float  # Chromium CPU seconds per page while the pages opened
    idle_ms_per_session_second: float
    above_empty_ms_per_session_second: float  # less the server's own, with no session (BASELINE_SECONDS)
    chromium_idle_ms_per_session_second: float
    p50_ms: float
    p99_ms: float
    cards: int
    missed: int
    rerun_ms: float  # Streamlit CPU per woken session rerun
    chromium_ms: float  # Chromium CPU per round per session
    streams_3_tabs: float  # browser streams on the hub for 3 tabs of one browser (nan: not measured)
    rss_mib: float


def cpu_per_second(pid: int, seconds: float) -> tuple[float, float]:
    """CPU seconds per second over `seconds` of the process `pid` and of Chromium's processes."""
    before, browser_before, started = cpu_seconds(pid), chromium_cpu_seconds(), time.monotonic()
    time.sleep(seconds)
    spent = time.monotonic() - started
    return (cpu_seconds(pid) - before) / spent, (chromium_cpu_seconds() - browser_before) / spent


def status_field(pid: int, name: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{name}:"):
            return int(line.split()[1])
    return 0


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def open_sessions(browser: Browser, url: str, count: int) -> tuple[list[BrowserContext], list[Page], float]:
    """`count` pages, each in its own context, all loading at once; those showing their full window by the
    deadline (`OPEN_SECONDS` in all) are returned, the others closed: a saturated dashboard opens fewer.
    The seconds are when the last returned page showed its window, from the first page's request."""
    contexts = [browser.new_context(viewport={"width": 1600, "height": 1000}) for _ in range(count)]
    pages = [context.new_page() for context in contexts]
    started = time.monotonic()
    for page in pages:
        page.goto(url, wait_until="commit", timeout=OPEN_SECONDS * 1000)
    deadline = time.monotonic() + OPEN_SECONDS
    opened: list[tuple[BrowserContext, Page]] = []
    last_opened = float("nan")
    for context, page in zip(contexts, pages, strict=True):
        try:
            page.get_by_text("🟢 Real-time (SSE)").wait_for(timeout=max(1.0, deadline - time.monotonic()) * 1000)
            cards = page.locator(CARDS)
            cards.nth(119).wait_for(state="attached", timeout=max(1.0, deadline - time.monotonic()) * 1000)
        except PlaywrightTimeoutError:
            context.close()
            continue
        last_opened = time.monotonic() - started
        page.evaluate(WATCH)
        opened.append((context, page))
    return [context for context, _ in opened], [page for _, page in opened], last_opened


def streams_for_tabs(browser: Browser, url: str, hub: HubProcess, tabs: int = 3) -> float:
    """Browser streams on the hub while `tabs` dashboard tabs of one browser profile are open."""
    before = hub.metric("agentchat_clients_connected")
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    try:
        for _ in range(tabs):
            page = context.new_page()
            page.goto(url, timeout=OPEN_SECONDS * 1000)
            page.wait_for_function(
                "() => [...(window.__agentchatStreams || new Map()).values()].some((e) => e.state === 'open')",
                timeout=OPEN_SECONDS * 1000,
            )
        time.sleep(SETTLE_SECONDS)
        return hub.metric("agentchat_clients_connected") - before - tabs  # less each tab's session feed
    finally:
        context.close()


def run(browser: Browser, workdir: Path, mode: str, sessions: int, args: argparse.Namespace, tabs: bool) -> Row:
    port = free_port()
    hub = HubProcess(
        f"sqlite:///{workdir}/{mode}-{sessions}.db",
        workdir,
        access_log="false",
        generate_per_minute=100_000,
        dashboard_port=port,
    ).start()
    dashboard = Dashboard(
        hub.url,
        workdir,
        port=port,
        env=MODES[mode],
        command_prefix=("taskset", "-c", str(STREAMLIT_CORE)),
    )
    contexts: list[BrowserContext] = []
    try:
        for _ in range(21):  # a full window: 20 kept per agent
            hub.generate()
        dashboard.wait_healthy()
        pid = dashboard.process.pid
        empty, _ = cpu_per_second(pid, BASELINE_SECONDS)
        opening = chromium_cpu_seconds()
        contexts, pages, open_seconds = open_sessions(browser, dashboard.url, sessions)
        chromium_open = (chromium_cpu_seconds() - opening) / sessions
        nan = float("nan")
        if not pages:
            rss = status_field(pid, "VmRSS") / 1024
            return Row(mode, sessions, 0, nan, chromium_open, nan, nan, nan, nan, nan, 0, 0, nan, nan, nan, rss)
        time.sleep(SETTLE_SECONDS)
        idle, browser_idle = cpu_per_second(pid, args.idle)
        posted: dict[int, float] = {}
        server_before, browser_before, started = cpu_seconds(pid), chromium_cpu_seconds(), time.monotonic()
        for index in range(args.rounds):
            agent = BUILTIN_ROSTER[index % len(BUILTIN_ROSTER)].id
            sent = time.time() * 1000
            message_id = int(hub.generate([agent]).json()["messages"][0]["id"])
            posted[message_id] = sent
            time.sleep(args.interval)
        spent = time.monotonic() - started
        server = max(0.0, cpu_seconds(pid) - server_before - idle * spent)
        chromium = max(0.0, chromium_cpu_seconds() - browser_before)
        time.sleep(max(0.0, MISS_SECONDS - args.interval))
        latencies: list[float] = []
        missed = 0
        for page in pages:
            seen = page.evaluate("window.cardSeenAt")
            for message_id, at in posted.items():
                shown = seen.get(str(message_id))
                if shown is None or shown - at > MISS_SECONDS * 1000:
                    missed += 1
                else:
                    latencies.append(shown - at)
        return Row(
            mode,
            sessions,
            len(pages),
            open_seconds,
            chromium_open,
            idle * 1000 / len(pages),
            max(0.0, idle - empty) * 1000 / len(pages),
            browser_idle * 1000 / len(pages),
            statistics.median(latencies) if latencies else float("nan"),
            percentile(latencies, 0.99) if latencies else float("nan"),
            len(latencies),
            missed,
            server * 1000 / (args.rounds * len(pages)),
            chromium * 1000 / (args.rounds * len(pages)),
            streams_for_tabs(browser, dashboard.url, hub) if tabs else nan,
            status_field(pid, "VmRSS") / 1024,
        )
    finally:
        for context in contexts:
            context.close()
        dashboard.stop()
        hub.stop()


def soak(browser: Browser, workdir: Path, sessions: int, seconds: float, interval: float) -> None:
    port = free_port()
    hub = HubProcess(
        f"sqlite:///{workdir}/soak.db", workdir, access_log="false", generate_per_minute=100_000, dashboard_port=port
    ).start()
    dashboard = Dashboard(hub.url, workdir, port=port, command_prefix=("taskset", "-c", str(STREAMLIT_CORE)))
    contexts: list[BrowserContext] = []
    try:
        for _ in range(21):
            hub.generate()
        dashboard.wait_healthy()
        pid = dashboard.process.pid
        contexts, _, _ = open_sessions(browser, dashboard.url, sessions)
        print(f"{'seconds':>7}  {'sessions':>8}  {'threads':>7}  {'RSS MiB':>7}  {'hub streams':>11}")
        started = sampled = time.monotonic()
        index = 0
        while (elapsed := time.monotonic() - started) < seconds:
            if index == 0 or time.monotonic() - sampled >= SAMPLE_SECONDS:
                sampled = time.monotonic()
                threads, rss = status_field(pid, "Threads"), status_field(pid, "VmRSS") / 1024
                streams = hub.metric("agentchat_clients_connected")
                print(f"{elapsed:>7.0f}  {len(contexts):>8}  {threads:>7}  {rss:>7.0f}  {streams:>11.0f}", flush=True)
            hub.generate([BUILTIN_ROSTER[index % len(BUILTIN_ROSTER)].id])
            contexts.pop(0).close()  # an operator leaves, another comes
            contexts += open_sessions(browser, dashboard.url, 1)[0]
            index += 1
            time.sleep(interval)
    finally:
        for context in contexts:
            context.close()
        dashboard.stop()
        hub.stop()


def print_table(rows: list[Row]) -> None:
    print(
        f"{'mode':>9}  {'sessions':>8}  {'opened':>6}  {'open s':>6}  {'Chromium s/page':>15}"
        f"  {'idle CPU ms/session/s':>21}  {'(less empty server)':>19}  {'Chromium idle':>13}"
        f"  {'POST->card p50 ms':>17}  {'p99 ms':>7}  {'cards':>5}  {'missed':>6}"
        f"  {'CPU/rerun ms':>12}  {'Chromium ms/round/session':>25}  {'streams, 3 tabs':>15}  {'RSS MiB':>7}"
    )
    for row in rows:
        print(
            f"{row.mode:>9}  {row.sessions:>8}  {row.opened:>6}  {row.open_seconds:>6.1f}  {row.chromium_open_s:>15.2f}"
            f"  {row.idle_ms_per_session_second:>21.2f}  {row.above_empty_ms_per_session_second:>19.2f}"
            f"  {row.chromium_idle_ms_per_session_second:>13.1f}  {row.p50_ms:>17.0f}"
            f"  {row.p99_ms:>7.0f}  {row.cards:>5}  {row.missed:>6}  {row.rerun_ms:>12.1f}"
            f"  {row.chromium_ms:>25.0f}  {row.streams_3_tabs:>15.0f}  {row.rss_mib:>7.0f}"
        )

    def ratio(before: float, after: float) -> str:
        return f"{before / after:.1f}x" if after else "-"

    by_key = {(row.mode, row.sessions): row for row in rows}
    for old in rows:
        new = by_key.get(("element", old.sessions))
        if old.mode == "element" or new is None:
            continue
        print(
            f"{old.mode} / element at {old.sessions} sessions: opened {old.opened} / {new.opened}"
            f" (the last at {old.open_seconds:.1f} / {new.open_seconds:.1f} s),"
            f" Chromium per page opened {ratio(old.chromium_open_s, new.chromium_open_s)},"
            f" idle CPU {ratio(old.idle_ms_per_session_second, new.idle_ms_per_session_second)},"
            f" Chromium idle {ratio(old.chromium_idle_ms_per_session_second, new.chromium_idle_ms_per_session_second)},"
            f" POST->card p50 {ratio(old.p50_ms, new.p50_ms)}, p99 {ratio(old.p99_ms, new.p99_ms)},"
            f" CPU per rerun {ratio(old.rerun_ms, new.rerun_ms)}, Chromium {ratio(old.chromium_ms, new.chromium_ms)}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", default="1,10,25", help="comma-separated session counts")
    parser.add_argument("--rounds", type=int, default=5, help="one-agent rounds posted per row")
    parser.add_argument("--interval", type=float, default=4.0, help="seconds between rounds")
    parser.add_argument("--idle", type=float, default=10.0, help="seconds of idle CPU measured per row")
    parser.add_argument("--modes", default=",".join(DEFAULT_MODES), help=f"comma-separated, of {', '.join(MODES)}")
    parser.add_argument("--soak", type=float, default=0.0, help="seconds to hold --sessions open (threads, RSS)")
    args = parser.parse_args()
    unknown = set(args.modes.split(",")) - set(MODES)
    if unknown:
        parser.error(f"unknown mode {', '.join(sorted(unknown))}: choose from {', '.join(MODES)}")
    os.sched_setaffinity(0, {OTHER_CORE})  # the hub, Playwright's driver and Chromium inherit it
    if args.soak:
        with tempfile.TemporaryDirectory() as workdir, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS + BACKGROUND_ARGS)
            soak(browser, Path(workdir), int(args.sessions), args.soak, args.interval)
            browser.close()
        return
    rows = []
    with tempfile.TemporaryDirectory() as workdir, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS + BACKGROUND_ARGS)
        try:
            for index, sessions in enumerate(int(count) for count in args.sessions.split(",")):
                for mode in args.modes.split(","):
                    rows.append(run(browser, Path(workdir), mode, sessions, args, tabs=index == 0))
                    print(f"  {rows[-1]}", flush=True)
        finally:
            browser.close()
    print(
        f"\nStreamlit on core {STREAMLIT_CORE}; hub, Chromium and this script on core {OTHER_CORE}; a full window"
        f" (120 cards) on every page; {args.rounds} one-agent rounds every {args.interval:g} s"
    )
    print_table(rows)


if __name__ == "__main__":
    main()
