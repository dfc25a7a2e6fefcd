"""Schema migrations as an operator meets them: `python -m agentchat db upgrade`, and hub start.

Each test runs on a fresh SQLite file and on a fresh PostgreSQL database (`database_url`),
except the one about several hubs, which only PostgreSQL can host.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from agentchat import migrate
from agentchat.message import Draft, utc_now
from agentchat.store import Store, create_store_engine
from tests.kit import web
from tests.kit.hubs import HubProcess, InProcessHub, hub_env
from tests.kit.paths import ROOT

HEAD = migrate.head_revision()
StartHub = Callable[..., InProcessHub]


def agentchat_db(database_url: str, action: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agentchat", "db", action],
        cwd=ROOT,
        env=hub_env(database_url),
        capture_output=True,
        text=True,
        timeout=60,
    )


def insert_raw_message(connection: sa.Connection, content: str, **columns: str) -> None:
    """A message row written with plain SQL, as an older schema has it (`columns` adds its own)."""
    values = {"content": content, "created_at": utc_now(), "meta": '{"symbol": "BTC"}', **columns}
    names = ", ".join(["agent_id", "agent_name", "kind", *values])
    placeholders = ", ".join(f":{name}" for name in values)
    connection.execute(
        sa.text(
            f"INSERT INTO agent_chat_messages ({names}) "
            f"VALUES ('claude_arbitrage', 'Claude Arbitrage', 'trade', {placeholders})"
        ),
        values,
    )


def write_under_the_first_schema(database_url: str) -> None:
    """A database as revision 0001 left it, with one message in it."""
    engine = create_store_engine(database_url)
    migrate.upgrade(engine, "0001")
    with engine.begin() as connection:
        insert_raw_message(connection, "kept across the upgrade")
    engine.dispose()


def columns(database_url: str) -> set[str]:
    engine = create_store_engine(database_url)
    try:
        return {column["name"] for column in sa.inspect(engine).get_columns("agent_chat_messages")}
    finally:
        engine.dispose()


def tables(database_url: str) -> set[str]:
    engine = create_store_engine(database_url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_db_upgrade_creates_the_schema_on_an_empty_database(database_url: str) -> None:
    result = agentchat_db(database_url, "upgrade")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"database at revision {HEAD} (head {HEAD})"
    assert columns(database_url) >= {"id", "agent_id", "content", "created_at", "meta"}
    assert tables(database_url) >= {
        "agent_chat_messages",
        "agent_chat_rounds",
        "agent_chat_market",
        "agent_chat_books",
        "agent_chat_book_history",
    }


def test_db_upgrade_at_head_changes_nothing(database_url: str) -> None:
    assert agentchat_db(database_url, "upgrade").returncode == 0
    again = agentchat_db(database_url, "upgrade")
    assert again.returncode == 0, again.stderr
    assert agentchat_db(database_url, "current").stdout.strip() == f"database at revision {HEAD} (head {HEAD})"


def test_db_upgrade_from_the_previous_schema_keeps_rows(database_url: str) -> None:
    write_under_the_first_schema(database_url)
    assert agentchat_db(database_url, "current").stdout.strip() == f"database at revision 0001 (head {HEAD})"
    result = agentchat_db(database_url, "upgrade")
    assert result.returncode == 0, result.stderr
    engine = create_store_engine(database_url)
    with engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT content, meta FROM agent_chat_messages")).all()
    engine.dispose()
    assert [row[0] for row in rows] == ["kept across the upgrade"]


def test_hub_start_upgrades_the_previous_schema_and_serves_its_rows(start_hub: StartHub, database_url: str) -> None:
    write_under_the_first_schema(database_url)
    hub = start_hub(database_url=database_url)
    kept = hub.messages()["messages"]
    assert [(message["content"], message["meta"]) for message in kept] == [
        ("kept across the upgrade", {"symbol": "BTC"})
    ]
    made = hub.generate(["claude_arbitrage"], **{"Idempotency-Key": "after-upgrade"})  # needs revision 0003
    assert made.status_code == 201
    assert made.json()["messages"][0]["id"] == kept[0]["id"] + 1


def test_a_database_of_the_previous_version_keeps_its_messages_and_its_books_start_empty(
    start_hub: StartHub, database_url: str
) -> None:
    engine = create_store_engine(database_url)
    migrate.upgrade(engine, "0003")
    with engine.begin() as connection:
        insert_raw_message(connection, "written before the market was stored")
    engine.dispose()
    hub = start_hub(database_url=database_url)
    assert [m["content"] for m in hub.messages()["messages"]] == ["written before the market was stored"]
    books = web.get(f"{hub.url}/api/agents/performance", timeout=10).json()
    assert books["round"] == 0
    assert {(entry["equity"], entry["trades"]) for entry in books["agents"]} == {(books["start_equity"], 0)}
    assert hub.generate().status_code == 201
    assert web.get(f"{hub.url}/api/agents/performance", timeout=10).json()["round"] == 1


def test_unreachable_database_stops_db_upgrade_with_one_line() -> None:
    result = agentchat_db("postgresql+psycopg://postgres@127.0.0.1:1/none", "upgrade")
    assert result.returncode == 2
    assert result.stderr.startswith("agentchat: cannot migrate the database") and "Traceback" not in result.stderr


@pytest.mark.postgres
def test_hubs_started_together_on_an_empty_database_all_come_up(start_hub: StartHub, postgres_url: str) -> None:
    hubs = [start_hub(database_url=postgres_url, wait=False) for _ in range(3)]
    for hub in hubs:
        hub.wait_healthy()
    assert agentchat_db(postgres_url, "current").stdout.strip() == f"database at revision {HEAD} (head {HEAD})"


def test_idempotency_keys_of_the_previous_schema_survive_the_upgrade(database_url: str) -> None:
    engine = create_store_engine(database_url)
    migrate.upgrade(engine, "0002")
    with engine.begin() as connection:
        insert_raw_message(connection, "first answer", idempotency_key="round-before-upgrade")
    migrate.upgrade(engine)
    remembered = Store(engine, retention_seconds=600).find_round("round-before-upgrade")
    engine.dispose()
    assert remembered is not None
    assert [(m.content, m.meta) for m in remembered] == [("first answer", {"symbol": "BTC"})]


def test_upgrade_keeps_ids_increasing_after_every_message_was_purged(sqlite_url: str) -> None:
    engine = create_store_engine(sqlite_url)
    migrate.upgrade(engine, "0002")
    with engine.begin() as connection:
        for _ in range(3):
            insert_raw_message(connection, "purged later")
        connection.execute(sa.text("DELETE FROM agent_chat_messages"))  # as the retention purge does
    migrate.upgrade(engine)
    stored, _ = Store(engine, retention_seconds=600).insert_round([Draft("a", "A", "trade", "after the upgrade")])
    engine.dispose()
    assert stored[0].id == 4


def test_parallel_db_upgrades_on_a_fresh_sqlite_file_all_succeed(tmp_path: Path) -> None:
    """Each try: several `agentchat db upgrade` at once on a new file; each must end at head, none must fail."""
    for attempt in range(3):
        url = f"sqlite:///{tmp_path / f'parallel-{attempt}.db'}"
        upgrades = [
            subprocess.Popen(
                [sys.executable, "-m", "agentchat", "db", "upgrade"],
                cwd=ROOT,
                env=hub_env(url),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(5)
        ]
        results = [(upgrade.communicate(timeout=120), upgrade.returncode) for upgrade in upgrades]
        for (out, err), code in results:
            assert code == 0, err
            assert out.strip() == f"database at revision {HEAD} (head {HEAD})"


def test_hubs_started_together_on_a_fresh_sqlite_file_all_come_up(
    start_hub_process: Callable[..., HubProcess], sqlite_url: str
) -> None:
    hubs = [start_hub_process(database_url=sqlite_url, wait=False) for _ in range(3)]
    for hub in hubs:
        hub.wait_healthy()
    assert agentchat_db(sqlite_url, "current").stdout.strip() == f"database at revision {HEAD} (head {HEAD})"
