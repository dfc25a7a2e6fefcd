"""`GET /api/chat/history` and `GET /api/chat/messages/{id}` on both databases: filters, paging, export."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from agentchat.message import parse_timestamp
from agentchat.store import messages_table
from tests.kit import web
from tests.kit.hubs import InProcessHub

StartHub = Callable[..., InProcessHub]
Message = dict[str, Any]


@pytest.fixture
def three_rounds(start_hub: StartHub, database_url: str) -> tuple[InProcessHub, list[Message]]:
    """A hub whose window holds each agent's latest only, after three rounds moved an hour back in time."""
    hub = start_hub(database_url=database_url, max_per_agent=1, retention_seconds=60)
    made = [message for _ in range(3) for message in hub.generate().json()["messages"]]
    engine = sa.create_engine(database_url)
    with engine.begin() as connection:  # row by row: SQLite has no arithmetic on its stored times
        rows = connection.execute(sa.select(messages_table.c.id, messages_table.c.created_at)).all()
        for message_id, created_at in rows:
            connection.execute(
                sa.update(messages_table)
                .where(messages_table.c.id == message_id)
                .values(created_at=created_at - timedelta(hours=1))
            )
    engine.dispose()
    stored = {message["id"]: message for message in history(hub, limit=1000)["messages"]}
    return hub, [stored[message["id"]] for message in reversed(made)]  # newest first, as stored


def history(hub: InProcessHub, **params: Any) -> dict[str, Any]:
    response = web.get(f"{hub.url}/api/chat/history", params=params, timeout=10)
    assert response.status_code == 200, response.text
    return dict(response.json())


def ids(messages: list[Message]) -> list[int]:
    return [message["id"] for message in messages]


def test_history_holds_every_message_of_three_rounds_with_each_filter(
    three_rounds: tuple[InProcessHub, list[Message]],
) -> None:
    hub, every = three_rounds
    assert len(every) == 18 and len(hub.messages()["messages"]) == 6  # the window: each agent's latest
    assert ids(history(hub)["messages"]) == ids(every)
    traded = next(message for message in every if message["meta"].get("side"))
    with_symbol = next(message for message in every if message["meta"].get("symbol"))
    word = every[4]["content"].split()[1]
    middle = parse_timestamp(every[8]["created_at"])
    filters: list[tuple[dict[str, str], Callable[[Message], bool]]] = [
        (
            {"agents": "claude_arbitrage,grok_sentiment"},
            lambda m: m["agent_id"] in {"claude_arbitrage", "grok_sentiment"},
        ),
        ({"kind": every[0]["kind"]}, lambda m: m["kind"] == every[0]["kind"]),
        (
            {"symbol": with_symbol["meta"]["symbol"].lower()},
            lambda m: m["meta"].get("symbol") == with_symbol["meta"]["symbol"],
        ),
        ({"side": traded["meta"]["side"]}, lambda m: m["meta"].get("side") == traded["meta"]["side"]),
        ({"q": word.upper()}, lambda m: word.lower() in m["content"].lower()),
        ({"since": every[8]["created_at"]}, lambda m: parse_timestamp(m["created_at"]) >= middle),
        ({"until": every[8]["created_at"]}, lambda m: parse_timestamp(m["created_at"]) < middle),
    ]
    for params, wanted in filters:
        expected = [message for message in every if wanted(message)]
        assert expected, params
        assert history(hub, **params)["messages"] == expected, params
    both = history(hub, agents="claude_arbitrage", symbol=with_symbol["meta"]["symbol"])["messages"]
    assert both == [
        m
        for m in every
        if m["agent_id"] == "claude_arbitrage" and m["meta"].get("symbol") == with_symbol["meta"]["symbol"]
    ]


def test_history_pages_newest_first_by_before_id(three_rounds: tuple[InProcessHub, list[Message]]) -> None:
    hub, every = three_rounds
    seen: list[Message] = []
    before_id: int | None = None
    sizes = []
    while True:
        page = history(hub, limit=5, **({"before_id": before_id} if before_id else {}))
        seen.extend(page["messages"])
        sizes.append(len(page["messages"]))
        before_id = page["next_before_id"]
        if before_id is None:
            break
    assert sizes == [5, 5, 5, 3]
    assert seen == every
    assert history(hub, limit=6)["next_before_id"] == every[5]["id"]
    assert history(hub, limit=18)["next_before_id"] is None


def test_csv_export_has_a_header_and_one_line_per_message_and_jsonl_one_message_a_line(
    three_rounds: tuple[InProcessHub, list[Message]],
) -> None:
    hub, every = three_rounds
    response = web.get(f"{hub.url}/api/chat/history", params={"format": "csv"}, timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0][:5] == ["id", "created_at", "agent_id", "agent_name", "kind"]
    assert len(rows) == 1 + len(every)
    assert [int(row[0]) for row in rows[1:]] == ids(every)
    assert [row[11] for row in rows[1:]] == [message["content"] for message in every]
    filtered = web.get(f"{hub.url}/api/chat/history", params={"format": "csv", "agents": "grok_sentiment"}).text
    assert len(list(csv.reader(io.StringIO(filtered)))) == 1 + 3
    lines = web.get(f"{hub.url}/api/chat/history", params={"format": "jsonl"}, timeout=10).text.splitlines()
    assert [json.loads(line) for line in lines] == every
    capped = web.get(f"{hub.url}/api/chat/history", params={"format": "jsonl", "limit": 4}).text.splitlines()
    assert [json.loads(line)["id"] for line in capped] == ids(every[:4])


def test_one_message_by_id_while_history_holds_it(three_rounds: tuple[InProcessHub, list[Message]]) -> None:
    hub, every = three_rounds
    oldest = every[-1]  # long out of the live window
    assert web.get(f"{hub.url}/api/chat/messages/{oldest['id']}").json() == oldest
    missing = web.get(f"{hub.url}/api/chat/messages/{10**12}")
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"


@pytest.mark.parametrize(
    "params",
    [
        {"kind": "gossip"},
        {"side": "up"},
        {"symbol": "BTC;DROP"},
        {"since": "yesterday"},
        {"until": "2026-11-23"},
        {"before_id": "-1"},
        {"before_id": "0"},
        {"limit": "0"},
        {"limit": "ten"},
        {"format": "xml"},
        {"agents": "nobody"},
        {"agent": "claude_arbitrage"},
        {"q": "x" * 201},
        {"q": "a\x00b"},
        {"format": "csv", "kind": "gossip"},
    ],
)
def test_bad_history_parameters_are_a_400_with_the_json_error(hub: InProcessHub, params: dict[str, str]) -> None:
    response = web.get(f"{hub.url}/api/chat/history", params=params, timeout=10)
    assert response.status_code == 400, response.text
    assert set(response.json()) == {"error", "detail"}


def test_a_bad_message_id_is_a_400(hub: InProcessHub) -> None:
    for raw in ("abc", "0", "1" * 25):
        response = web.get(f"{hub.url}/api/chat/messages/{raw}")
        assert response.status_code == 400 and set(response.json()) == {"error", "detail"}
