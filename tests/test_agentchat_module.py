"""Unit tests of the browser module (`agentchat.js`, as the hub serves it), run in Chromium with `page.evaluate`.

What is kept (`Feed`: dedupe, the per-agent cap, newest-first order, another store) and how it is
drawn (`CardRenderer`: one node per message id, hostile text as text), without a stream: the
functions are called directly on the page.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from tests.kit.browser import BROWSER_MARKS, open_module
from tests.kit.hubs import InProcessHub

pytestmark = BROWSER_MARKS

HOSTILE = "<img src=x onerror=alert(1)><script>alert(2)</script> [x](javascript:alert(3)) **b** &amp;"


@pytest.fixture(scope="module")
def page(browser: Browser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Page]:
    hub = InProcessHub(f"sqlite:///{tmp_path_factory.mktemp('module') / 'agentchat.db'}")
    hub.start()
    page = browser.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    yield open_module(page, hub.url)
    page.close()
    hub.stop()
    assert dialogs == [], f"a script ran in the page: {dialogs}"


def message(id_: int, agent: str = "a", **fields: Any) -> dict[str, Any]:
    return {
        "id": id_,
        "agent_id": agent,
        "agent_name": agent.upper(),
        "kind": "analysis",
        "content": f"m{id_}",
    } | fields


def run(page: Page, body: str, argument: Any = None) -> Any:
    return page.evaluate(f"(argument) => {{ const m = window.agentchat; {body} }}", argument)


def test_the_feed_keeps_each_id_once_and_counts_the_duplicates(page: Page) -> None:
    kept = run(
        page,
        """const feed = new m.Feed(20);
        const first = feed.add(argument);
        const again = feed.add(argument);
        return [first, again, feed.duplicates, feed.of('a').map((x) => x.id), feed.lastId];""",
        [message(1), message(2), message(1)],
    )
    assert kept == [True, False, 4, [2, 1], 2]


def test_the_feed_keeps_the_newest_per_agent_up_to_its_cap_newest_first(page: Page) -> None:
    arrivals = [message(i, "a") for i in (5, 1, 9, 3, 7)] + [message(i, "b") for i in (2, 4)]
    kept = run(
        page,
        """const feed = new m.Feed(3);
        feed.add(argument);
        const late = feed.add([{ ...argument[1], id: 0 }]);  // older than everything kept for a full agent
        return [feed.of('a').map((x) => x.id), feed.of('b').map((x) => x.id), late, feed.byId.size];""",
        arrivals,
    )
    assert kept == [[9, 7, 5], [4, 2], False, 5]


def test_the_feed_drops_everything_when_another_store_turns_up(page: Page) -> None:
    kept = run(
        page,
        """const feed = new m.Feed(20);
        const first = feed.followStore('store-1');
        feed.add(argument);
        const same = feed.followStore('store-1');
        const other = feed.followStore('store-2');
        return [first, same, other, feed.all().length, feed.lastId, feed.resets];""",
        [message(1), message(2)],
    )
    assert kept == [False, False, True, 0, 0, 1]


def test_the_feed_ignores_what_is_not_a_message(page: Page) -> None:
    kept = run(
        page,
        """const feed = new m.Feed(20);
        const changed = feed.add([null, 3, { id: '1', agent_id: 'a', content: 'x' }, { id: 2, agent_id: 'a' }]);
        return [changed, feed.all().length];""",
    )
    assert kept == [False, 0]


def test_a_card_shows_hostile_text_as_text_and_builds_no_element_from_it(page: Page) -> None:
    meta = {"symbol": HOSTILE, "side": "buy", "quantity": 2, "reply_to": 1}
    drawn = run(
        page,
        """const cards = new m.CardRenderer();
        const card = cards.card(argument.message, () => argument.name, { id: 'a', name: argument.name, color: 'red' });
        document.body.append(card);
        return {
          content: card.querySelector('.content').textContent,
          meta: card.querySelector('.meta').textContent,
          agent: card.querySelector('.card-agent').textContent,
          tags: [...card.querySelectorAll('*')].map((node) => node.localName).sort(),
          colour: card.style.getPropertyValue('--agent'),
          imgs: document.querySelectorAll('img, script, a').length,
        };""",
        {"message": message(2, content=HOSTILE, meta=meta, created_at="2026-01-01T10:00:00.000Z"), "name": HOSTILE},
    )
    assert drawn["content"] == HOSTILE
    assert drawn["meta"] == f"{HOSTILE} · buy 2 · ↩ #1 {HOSTILE}"
    assert drawn["agent"] == HOSTILE
    assert drawn["tags"] == sorted(["header", "span", "span", "span", "span", "time", "p", "p"])
    assert drawn["colour"] == ""  # only #RRGGBB goes in
    assert drawn["imgs"] == 0


def test_a_card_shows_its_age_and_its_time_in_the_readers_time_zone(page: Page) -> None:
    drawn = run(
        page,
        """const later = Date.parse(argument.created_at) + 75000;
        const card = new m.CardRenderer().card(argument, () => undefined, null, later);
        const time = card.querySelector('time');
        return [card.querySelector('.age').textContent, time.textContent, time.dateTime, time.title !== ''];""",
        message(3, created_at="2026-01-01T10:00:00.000Z"),
    )
    expected_clock = run(
        page,
        """return new Date(argument).toLocaleTimeString(undefined,
             { hour: '2-digit', minute: '2-digit', second: '2-digit' });""",
        "2026-01-01T10:00:00.000Z",
    )
    assert drawn == ["1 min ago", expected_clock, "2026-01-01T10:00:00.000Z", True]


AGES = [0, 4.9, 5, 12.3, 59.9, 60, 61, 3599, 3600, 7300, 86400 * 3]


def test_an_age_is_worded_alike_until_the_moment_it_says_it_changes(page: Page) -> None:
    worded = run(
        page,
        """return argument.map((seconds) => {
          const changes = m.ageChangesIn(seconds);
          return [m.relativeAge(seconds), m.relativeAge(seconds + changes - 0.001), m.relativeAge(seconds + changes)];
        });""",
        AGES,
    )
    for seconds, (now, just_before, at_change) in zip(AGES, worded, strict=True):
        assert just_before == now != at_change, seconds


def test_the_age_clock_walks_the_ages_only_when_one_is_due_to_change(page: Page) -> None:
    """An idle page's clock: a walk when an age's wording changes, not every second; new cards, a walk at once."""
    walked = run(
        page,
        """const root = document.createElement('div');
        const start = Date.parse(argument.created_at) + 70000;  // '1 min ago' until 120 s
        root.append(new m.CardRenderer().card(argument, () => undefined, null, start));
        const clock = new m.AgeClock(root);
        clock.stop();  // ticked by hand below
        const seen = [];
        const tick = (seconds) => {
          clock.tick(start + seconds * 1000);
          seen.push([seconds, clock.walks, root.querySelector('.age').textContent]);
        };
        tick(0); tick(1); tick(49);
        tick(50);  // 120 s old
        tick(51);
        clock.drawn();
        tick(52);
        return seen;""",
        message(4, created_at="2026-01-01T10:00:00.000Z"),
    )
    assert walked == [
        [0, 1, "1 min ago"],
        [1, 1, "1 min ago"],
        [49, 1, "1 min ago"],
        [50, 2, "2 min ago"],
        [51, 2, "2 min ago"],
        [52, 3, "2 min ago"],
    ]


def test_sync_adds_the_new_card_and_keeps_the_others_in_place(page: Page) -> None:
    kept = run(
        page,
        """const cards = new m.CardRenderer();
        const list = document.createElement('div');
        const first = argument.slice(1);
        cards.sync(list, first, () => undefined);
        const before = [...list.children];
        const records = [];
        const observer = new MutationObserver((found) => records.push(...found));
        observer.observe(list, { childList: true, subtree: true, characterData: true, attributes: true });
        cards.sync(list, argument, () => undefined);  // one newer message on top
        cards.sync(list, argument, () => undefined);  // the same again: nothing to do
        const changes = observer.takeRecords().concat(records);
        return {
          ids: [...list.children].map((card) => Number(card.dataset.id)),
          same: before.every((card, i) => list.children[i + 1] === card),
          added: changes.flatMap((r) => [...r.addedNodes].map((n) => n.dataset.id)),
          other: changes.filter((r) => r.type !== 'childList' || r.removedNodes.length).length,
        };""",
        [message(3), message(2), message(1)],
    )
    assert kept == {"ids": [3, 2, 1], "same": True, "added": ["3"], "other": 0}


def test_sync_removes_the_cards_of_messages_no_longer_kept(page: Page) -> None:
    kept = run(
        page,
        """const cards = new m.CardRenderer();
        const list = document.createElement('div');
        cards.sync(list, argument, () => undefined);
        cards.sync(list, argument.slice(0, 1), () => undefined);
        return [[...list.children].map((card) => Number(card.dataset.id)), cards.cards.size];""",
        [message(2), message(1)],
    )
    assert kept == [[2], 1]
