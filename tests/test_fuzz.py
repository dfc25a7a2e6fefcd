"""schemathesis attacks a real hub from its own `/openapi.json`, and each thing it found stays fixed.

The fuzz run uses a fixed seed so the suite is repeatable; `bench/fuzz.py` explores with fresh seeds
and many more examples. How the run is driven, and what it cannot check on the stream: `tests/kit/fuzzing.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from agentchat.hub.params import MAX_STORE_ID
from tests.kit import web
from tests.kit.fuzzing import run_schemathesis
from tests.kit.hubs import HubProcess

TOKEN = "fuzz-token"
EXAMPLES_PER_OPERATION = 25
SEED = 18


def test_schemathesis_finds_nothing_in_any_operation(start_hub: Callable[..., HubProcess], tmp_path: Path) -> None:
    hub = start_hub(generate_token=TOKEN, heartbeat_seconds=0.1)
    hub.generate(Authorization=f"Bearer {TOKEN}")  # messages for the stream to replay
    run = run_schemathesis(hub.url, TOKEN, tmp_path / "schemathesis", EXAMPLES_PER_OPERATION, SEED)
    print(f"schemathesis: {run.operations} operations, {run.cases} generated cases, seed {run.seed}")
    assert run.passed, run.output
    paths = web.get(f"{hub.url}/openapi.json").json()["paths"]
    assert run.operations == sum(len(methods) for methods in paths.values())


def _status(response: httpx.Response) -> tuple[int, str | None]:
    is_json = response.headers.get("content-type", "").startswith("application/json")
    return response.status_code, response.json().get("error") if is_json else None


@pytest.fixture
def hub_on_each_store(start_hub: Callable[..., HubProcess], database_url: str) -> HubProcess:
    return start_hub(database_url=database_url)


def test_integers_beyond_the_store_range_or_not_plain_digits_are_a_400(hub_on_each_store: HubProcess) -> None:
    """Found: since_id and last_event_id above 2^63-1 were a 500 (SQLite's driver overflowed)."""
    hub = hub_on_each_store
    bad = [str(MAX_STORE_ID + 1), "9" * 30, "+5", "1_0", "٣", "0x10", "-1", ""]
    answers = {}
    for value in bad:
        answers[f"since_id={value!r}"] = _status(web.get(f"{hub.url}/api/chat/messages?since_id={value}"))
        answers[f"last_event_id={value!r}"] = _status(web.get(f"{hub.url}/api/chat/stream?last_event_id={value}"))
        answers[f"Last-Event-ID: {value!r}"] = _status(
            web.get(f"{hub.url}/api/chat/stream", headers={"Last-Event-ID": value.encode()})
        )
    assert {case: answer for case, answer in answers.items() if answer != (400, "bad_request")} == {}
    highest = web.get(f"{hub.url}/api/chat/messages", params={"since_id": MAX_STORE_ID})
    assert highest.status_code == 200 and highest.json()["gap"] is True  # above the store: a gap, not a 500


def test_stream_checks_a_query_last_event_id_beside_the_header_and_an_empty_one(hub: HubProcess) -> None:
    """Found: beside a Last-Event-ID header any last_event_id passed unread; an empty one passed as none."""
    stream = f"{hub.url}/api/chat/stream"
    beside_header = web.get(f"{stream}?last_event_id={MAX_STORE_ID + 1}", headers={"Last-Event-ID": "3"})
    empty_query = web.get(f"{stream}?last_event_id=")
    empty_header = web.get(stream, headers={"Last-Event-ID": ""})
    assert [_status(beside_header), _status(empty_query), _status(empty_header)] == [(400, "bad_request")] * 3


def test_a_method_not_allowed_says_which_are(hub: HubProcess) -> None:
    """Found: a 405 came without the `Allow` header that RFC 9110 requires."""
    for method, path, allowed in [
        ("TRACE", "/api/agents", {"GET", "HEAD"}),
        ("POST", "/api/chat/stream", {"GET", "HEAD"}),
        ("GET", "/api/chat/generate", {"POST"}),
    ]:
        response = web.request(method, f"{hub.url}{path}")
        named = {name.strip() for name in response.headers.get("allow", "").split(",")}  # in no set order
        assert (_status(response), named) == ((405, "method_not_allowed"), allowed)


REFUSED_BODIES = {
    "JSON nested past the parser's recursion limit (was a 500)": (b"[" * 8000 + b"]" * 8000, {}),
    "a JSON integer of 5000 digits (was a 500)": (b'{"agents": ' + b"1" * 5000 + b"}", {}),
    "an empty agent id (made an empty round)": (b'{"agents": [""]}', {}),
    "two ids in one item (made a round of both)": (b'{"agents": ["claude_arbitrage,llama_maker"]}', {}),
    "an Idempotency-Key with a tab": (b"", {"Idempotency-Key": b"a\tb"}),
    "an Idempotency-Key not in ASCII": (b"", {"Idempotency-Key": "clé".encode("latin-1")}),
}


def test_generate_refuses_what_its_document_forbids_and_makes_nothing(hub: HubProcess) -> None:
    """Found by the fuzzer: `[""]` and a key with a tab. By reading: deep JSON, a huge integer, "a,b"."""
    answers = {
        case: web.post(
            f"{hub.url}/api/chat/generate", content=body, headers={"Content-Type": "application/json", **headers}
        )
        for case, (body, headers) in REFUSED_BODIES.items()
    }
    assert {case: _status(answer) for case, answer in answers.items() if _status(answer)[0] != 400} == {}
    assert all(set(answer.json()) == {"error", "detail"} for answer in answers.values())
    assert hub.messages()["messages"] == []


def test_agents_filter_takes_exact_ids_and_skips_empty_parts(hub: HubProcess) -> None:
    """Found: `agents=` and `a,,b` matched no schema; by reading: ` a` (with a space) passed as `a`."""
    url = f"{hub.url}/api/chat/messages"
    assert web.get(url, params={"agents": ""}).status_code == 200
    assert web.get(url, params={"agents": "claude_arbitrage,,llama_maker,"}).status_code == 200
    assert _status(web.get(url, params={"agents": " claude_arbitrage"})) == (400, "unknown_agent")
