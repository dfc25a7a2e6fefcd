"""No input gives a 500 (issue 13, points 4 and 5): every refusal is a JSON 4xx, with real clients.

Integers are ASCII digits bounded to the store's BIGINT, JSON bodies are bounded in depth and
size, 405 says `Allow`, CORS refusals are JSON, ETags compare weakly, an Idempotency-Key reused
with another body is a 422, and an empty agent id is a 400.
"""

from __future__ import annotations

import socket
from collections.abc import Callable

import httpx
import pytest

from tests.kit import web
from tests.kit.hubs import InProcessHub


def assert_json_error(response: httpx.Response, status: int) -> dict[str, str]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error", "detail"}
    return dict(body)


@pytest.mark.parametrize("value", ["9223372036854775808", str(10**30), "١٢", "1_0", "-1", "+3", " ", "0x10"])
def test_since_id_out_of_range_or_not_ascii_digits_is_a_400(hub: InProcessHub, value: str) -> None:
    response = web.get(f"{hub.url}/api/chat/messages", params={"since_id": value})
    if value == " ":
        assert response.status_code in (200, 400)
        return
    assert_json_error(response, 400)


def test_the_largest_bigint_since_id_is_accepted(hub: InProcessHub) -> None:
    response = web.get(f"{hub.url}/api/chat/messages", params={"since_id": str(2**63 - 1)})
    assert response.status_code == 200


@pytest.mark.parametrize("value", ["9223372036854775808", "١٢", "1_0"])
def test_last_event_id_out_of_range_is_a_json_400(hub: InProcessHub, value: str) -> None:
    response = web.get(f"{hub.url}/api/chat/stream", headers={"Last-Event-ID": value.encode()})
    assert_json_error(response, 400)
    assert_json_error(web.get(f"{hub.url}/api/chat/stream", params={"last_event_id": value}), 400)
    assert "Traceback" not in hub.log()


@pytest.mark.parametrize(
    "body",
    [
        b"1" * 5000,
        b"[" * 8000 + b"]" * 8000,
        b'{"agents": ' + b"[" * 100 + b"]" * 100 + b"}",
        b'{"agents": [1e999999]}',
    ],
    ids=["5000 digits", "8000 deep", "100 deep", "huge float"],
)
def test_over_deep_or_huge_numbers_in_json_are_a_400(hub: InProcessHub, body: bytes) -> None:
    response = web.post(f"{hub.url}/api/chat/generate", content=body, headers={"Content-Type": "application/json"})
    assert_json_error(response, 400)


def test_a_body_over_16_kib_is_a_413(hub: InProcessHub) -> None:
    response = web.post(
        f"{hub.url}/api/chat/generate", content=b" " * 20000, headers={"Content-Type": "application/json"}
    )
    assert_json_error(response, 413)


def test_an_empty_agent_id_in_the_body_is_a_400(hub: InProcessHub) -> None:
    for agents in ([""], ["claude_arbitrage,llama_maker"], [" claude_arbitrage"]):
        assert_json_error(web.post(f"{hub.url}/api/chat/generate", json={"agents": agents}), 400)
    assert hub.messages()["messages"] == []


def test_method_not_allowed_says_allow(hub: InProcessHub) -> None:
    response = web.put(f"{hub.url}/api/chat/messages")
    assert_json_error(response, 405)
    assert "GET" in response.headers["allow"]
    stream = web.delete(f"{hub.url}/api/chat/stream")
    assert_json_error(stream, 405)
    assert "GET" in stream.headers["allow"]


def test_a_refused_cors_preflight_is_json(start_hub: Callable[..., InProcessHub]) -> None:
    hub = start_hub(cors_origins="https://viewer.example")
    elsewhere = web.options(
        f"{hub.url}/api/chat/generate",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert_json_error(elsewhere, 403)
    bad_header = web.options(
        f"{hub.url}/api/chat/generate",
        headers={
            "Origin": "https://viewer.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "X-Not-Allowed",
        },
    )
    assert_json_error(bad_header, 400)
    allowed = web.options(
        f"{hub.url}/api/chat/generate",
        headers={"Origin": "https://viewer.example", "Access-Control-Request-Method": "POST"},
    )
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://viewer.example"


def test_oversized_headers_are_a_json_431(hub: InProcessHub) -> None:
    response = web.get(f"{hub.url}/healthz", headers={"X-Big": "a" * 40000})
    assert_json_error(response, 431)


def test_weak_and_star_if_none_match_give_304(hub: InProcessHub) -> None:
    hub.generate()
    url = f"{hub.url}/api/chat/messages"
    etag = web.get(url).headers["etag"]
    assert web.get(url, headers={"If-None-Match": f"W/{etag}"}).status_code == 304
    assert web.get(url, headers={"If-None-Match": f'"other", W/{etag}'}).status_code == 304
    assert web.get(url, headers={"If-None-Match": "*"}).status_code == 304
    assert web.get(url, headers={"If-None-Match": '"other"'}).status_code == 200


def test_one_idempotency_key_with_another_body_is_a_422(hub: InProcessHub) -> None:
    first = hub.generate(["claude_arbitrage"], **{"Idempotency-Key": "slot-1"})
    assert first.status_code == 201
    again = hub.generate(["claude_arbitrage"], **{"Idempotency-Key": "slot-1"})
    assert again.status_code == 201 and again.json() == first.json()
    other = hub.generate(["llama_maker"], **{"Idempotency-Key": "slot-1"})
    assert assert_json_error(other, 422)["error"] == "idempotency_key_reused"
    assert len(hub.messages()["messages"]) == 1


def test_a_crash_inside_the_stream_is_one_log_line_and_a_json_500(hub: InProcessHub) -> None:
    assert hub.app is not None

    def broken(*_args: object) -> object:
        raise RuntimeError("boom")

    hub.app.hub.store.bounds = broken  # type: ignore[method-assign, assignment]  # a fault inside the store's answer
    response = web.get(f"{hub.url}/api/chat/stream", headers={"Last-Event-ID": "0"})
    assert_json_error(response, 500)
    assert hub.log().count("unexpected error on GET /api/chat/stream") == 1


def test_raw_garbage_on_the_socket_never_gets_a_500(hub: InProcessHub) -> None:
    for request in (
        b"GET /api/chat/messages?since_id=%FF%FE HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /api/chat/stream?agents=%00 HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /api/chat/messages?limit=99999999999999999999999 HTTP/1.1\r\nHost: x\r\n\r\n",
    ):
        with socket.create_connection(("127.0.0.1", hub.port), timeout=5) as connection:
            connection.sendall(request)
            status_line = connection.recv(4096).split(b"\r\n", 1)[0]
        assert not status_line.startswith(b"HTTP/1.1 5"), (request, status_line)


def test_a_body_key_that_is_a_lone_surrogate_is_a_400_naming_it(hub: InProcessHub) -> None:
    response = web.post(
        f"{hub.url}/api/chat/generate", content=b'{"\\ud800": 1}', headers={"Content-Type": "application/json"}
    )
    assert_json_error(response, 400)
    assert "\ud800" in response.json()["detail"]  # the client's own key, as its JSON escape
    assert "Traceback" not in hub.log() and "unexpected error" not in hub.log()
    assert hub.messages()["messages"] == []
