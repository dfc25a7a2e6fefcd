"""POST /api/chat/generate: a round per call, auth, validation, idempotency, store failures."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable

import httpx
import pytest
import sqlalchemy as sa

from agentchat import migrate
from agentchat.agents import BUILTIN_ROSTER
from agentchat.hub import routes
from tests.kit import web
from tests.kit.hubs import InProcessHub
from tests.kit.sse import SseReader
from tests.kit.waits import wait_until

TOKEN = "s3cret-token"


def post(hub: InProcessHub, **kwargs: object) -> httpx.Response:
    return web.post(f"{hub.url}/api/chat/generate", timeout=30, **kwargs)


def test_generate_makes_one_message_per_agent_in_roster_order(hub: InProcessHub) -> None:
    response = hub.generate()
    assert response.status_code == 201
    made = response.json()["messages"]
    assert [message["agent_id"] for message in made] == [agent.id for agent in BUILTIN_ROSTER]
    assert len({message["content"] for message in made}) == len(made)
    assert all(message["created_at"].endswith("Z") for message in made)


def test_generate_for_chosen_agents_only(hub: InProcessHub) -> None:
    made = hub.generate(["mistral_macro", "claude_arbitrage"]).json()["messages"]
    assert sorted(message["agent_id"] for message in made) == ["claude_arbitrage", "mistral_macro"]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"{not json", "bad_request"),
        (b"[1, 2]", "bad_request"),
        (b'{"agents": "claude_arbitrage"}', "bad_request"),
        (b'{"agents": []}', "bad_request"),
        (b'{"agents": ["claude_arbitrage"], "extra": 1}', "bad_request"),
        (b'{"agents": ["nobody"]}', "unknown_agent"),
    ],
)
def test_bad_body_is_a_400_that_generates_nothing(hub: InProcessHub, body: bytes, code: str) -> None:
    response = post(hub, content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"] == code
    assert response.json()["detail"]
    assert hub.messages()["messages"] == []


def test_body_over_16_kib_is_a_413(hub: InProcessHub) -> None:
    response = post(hub, content=b'{"agents": ["' + b"x" * 17000 + b'"]}')
    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"


def test_a_body_declared_and_not_sent_is_a_408_and_holds_nothing_up(
    hub: InProcessHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A client that sends the head and then stalls must not keep the request (or the round lock) forever."""
    monkeypatch.setattr(routes, "BODY_READ_SECONDS", 1.0)  # the hub's own deadline, shortened for the test
    head = (
        "POST /api/chat/generate HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: application/json\r\nContent-Length: 40\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", hub.port), timeout=10) as stalled:
        stalled.sendall(head.encode() + b'{"agents": [')
        assert post(hub).status_code == 201  # another client's round is not held up meanwhile
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.endswith(b"}"):
            chunk = stalled.recv(4096)
            if not chunk:
                break
            answer += chunk
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line == b"HTTP/1.1 408 Request Timeout"
    body = json.loads(rest.partition(b"\r\n\r\n")[2])
    assert body["error"] == "request_timeout" and "1 s" in body["detail"]
    assert len(hub.messages()["messages"]) == len(BUILTIN_ROSTER)  # only the other client's round


def test_token_is_required_when_configured(start_hub) -> None:  # type: ignore[no-untyped-def]
    hub: InProcessHub = start_hub(generate_token=TOKEN)
    missing = post(hub)
    wrong = post(hub, headers={"Authorization": "Bearer nope"})
    right = post(hub, headers={"Authorization": f"Bearer {TOKEN}"})
    assert (missing.status_code, wrong.status_code, right.status_code) == (401, 401, 201)
    assert missing.json()["error"] == "unauthorized"
    assert len(hub.messages()["messages"]) == len(BUILTIN_ROSTER)


def test_same_idempotency_key_returns_the_first_answer_and_generates_nothing(hub: InProcessHub) -> None:
    first = hub.generate(**{"Idempotency-Key": "slot-2026-11-26T10:15"})
    again = hub.generate(**{"Idempotency-Key": "slot-2026-11-26T10:15"})
    other = hub.generate(**{"Idempotency-Key": "slot-2026-11-26T10:30"})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert other.json() != first.json()
    assert len(hub.messages()["messages"]) == 2 * len(BUILTIN_ROSTER)


def test_concurrent_requests_with_one_idempotency_key_make_one_round(hub: InProcessHub) -> None:
    answers: list[httpx.Response] = []
    threads = [
        threading.Thread(target=lambda: answers.append(hub.generate(**{"Idempotency-Key": "same"}))) for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {answer.status_code for answer in answers} == {201}
    assert len({answer.text for answer in answers}) == 1
    assert len(hub.messages()["messages"]) == len(BUILTIN_ROSTER)


def test_generate_counts_requests_by_status_in_metrics(hub: InProcessHub) -> None:
    hub.generate()
    hub.generate(["nobody"])
    text = web.get(f"{hub.url}/metrics").text
    assert 'agentchat_generate_requests_total{status="201"} 1.0' in text
    assert 'agentchat_generate_requests_total{status="400"} 1.0' in text


def test_locked_sqlite_store_gives_503_and_broadcasts_nothing(start_hub, sqlite_url: str) -> None:  # type: ignore[no-untyped-def]
    hub: InProcessHub = start_hub(db_timeout_seconds=0.5)
    reader = SseReader(f"{hub.url}/api/chat/stream").start()
    reader.next("ready")
    engine = sa.create_engine(sqlite_url)
    with engine.connect() as blocker:
        blocker.exec_driver_sql("BEGIN EXCLUSIVE")
        response = hub.generate()
        blocker.exec_driver_sql("ROLLBACK")
    engine.dispose()
    assert response.status_code == 503
    assert response.json()["error"] == "store_unavailable"
    recovered = hub.generate()  # and it recovers by itself; its round is the marker after the refused one
    assert recovered.status_code == 201
    assert [
        event for event in reader.until_message(recovered.json()["messages"][0]["id"]) if event.event == "message"
    ] == []
    assert len(reader.messages(len(BUILTIN_ROSTER) - 1)) == len(BUILTIN_ROSTER) - 1
    reader.close()


@pytest.mark.postgres
def test_unreachable_postgres_gives_503_and_broadcasts_nothing(start_hub, postgres_url: str) -> None:  # type: ignore[no-untyped-def]
    hub: InProcessHub = start_hub(database_url=postgres_url, db_timeout_seconds=2)
    reader = SseReader(f"{hub.url}/api/chat/stream").start()
    reader.next("ready")
    name = sa.make_url(postgres_url).database
    admin = sa.create_engine(sa.make_url(postgres_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
        connection.execute(sa.text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
        response = hub.generate()
        health = web.get(f"{hub.url}/healthz", timeout=10)
        connection.execute(sa.text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
    admin.dispose()
    assert response.status_code == 503
    assert response.json()["error"] == "store_unavailable"
    assert health.status_code == 503 and health.json()["status"] == "degraded"
    recovered = hub.generate()
    assert recovered.status_code == 201
    assert [
        event for event in reader.until_message(recovered.json()["messages"][0]["id"]) if event.event == "message"
    ] == []
    reader.close()


@pytest.mark.postgres
def test_a_postgres_store_recreated_under_the_hub_takes_no_write_and_broadcasts_nothing(
    start_hub: Callable[..., InProcessHub], postgres_url: str
) -> None:
    """The new store's ids would start over under the old identity: every stream would take them for old ones."""
    hub = start_hub(database_url=postgres_url)
    first_round = hub.generate()
    assert first_round.status_code == 201
    # On PostgreSQL the hub's own fan-out hears of a round by NOTIFY, after the POST is answered: the
    # stream opens once the first round is published, so none of what it sees can be that round.
    wait_until(lambda: hub.metric("agentchat_messages_published_total") >= len(first_round.json()["messages"]))
    reader = SseReader(f"{hub.url}/api/chat/stream").start()
    reader.next("ready")
    engine = sa.create_engine(postgres_url)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("DROP SCHEMA public CASCADE")
            connection.exec_driver_sql("CREATE SCHEMA public")
        migrate.upgrade(engine)  # what `agentchat db upgrade` does: a store with a new identity

        response = hub.generate()
        assert response.status_code == 503
        assert response.json()["error"] == "store_unavailable"
        assert "a different store" in response.json()["detail"] and "restart the hub" in response.json()["detail"]
        hub.stop()  # ends every stream: what the stream sent before its end is all it sent
        assert [event for event in reader.until_end() if event.event == "message"] == []
        reader.close()
        with engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT count(*) FROM agent_chat_messages").scalar() == 0
    finally:
        engine.dispose()  # a failure here must not leave its connections to be collected in a later test
