"""Cross-site requests and DNS rebinding (issue 13, points 7 and 9): refused with the JSON error body.

A page elsewhere must not make the operator's browser generate a round: a body must be
`application/json` (which a page cannot send without a CORS preflight), and a browser `Origin`
that is neither the hub's own nor in `AGENTCHAT_CORS_ORIGINS` is refused. `AGENTCHAT_ALLOWED_HOSTS`
refuses a `Host` that is not the hub's. The token is compared as the UTF-8 bytes a client sends.
"""

from __future__ import annotations

from collections.abc import Callable

from tests.kit import web
from tests.kit.hubs import InProcessHub


def test_a_text_plain_body_is_a_415_and_generates_nothing(hub: InProcessHub) -> None:
    response = web.post(
        f"{hub.url}/api/chat/generate",
        content=b'{"agents": ["claude_arbitrage"]}',
        headers={"Content-Type": "text/plain"},
    )
    assert response.status_code == 415 and response.json()["error"] == "unsupported_media_type"
    assert hub.messages()["messages"] == []
    assert web.post(f"{hub.url}/api/chat/generate").status_code == 201  # no body: no type needed


def test_a_foreign_origin_is_refused_and_the_hubs_own_is_not(hub: InProcessHub) -> None:
    foreign = web.post(f"{hub.url}/api/chat/generate", json={}, headers={"Origin": "https://evil.example"})
    assert foreign.status_code == 403 and foreign.json()["error"] == "forbidden"
    stream = web.get(f"{hub.url}/api/chat/stream", headers={"Origin": "https://evil.example"})
    assert stream.status_code == 403
    own = web.post(f"{hub.url}/api/chat/generate", json={}, headers={"Origin": f"http://127.0.0.1:{hub.port}"})
    assert own.status_code == 201
    assert len(hub.messages()["messages"]) == len(own.json()["messages"])


def test_an_origin_in_cors_origins_may_call(start_hub: Callable[..., InProcessHub]) -> None:
    hub = start_hub(cors_origins="https://viewer.example")
    response = web.post(f"{hub.url}/api/chat/generate", json={}, headers={"Origin": "https://viewer.example"})
    assert response.status_code == 201
    assert response.headers["access-control-allow-origin"] == "https://viewer.example"


def test_allowed_hosts_refuses_another_host(start_hub: Callable[..., InProcessHub]) -> None:
    hub = start_hub(allowed_hosts="127.0.0.1,hub.example")
    rebound = web.get(f"{hub.url}/healthz", headers={"Host": "attacker.example"})
    assert rebound.status_code == 400 and set(rebound.json()) == {"error", "detail"}
    stream = web.get(f"{hub.url}/api/chat/stream", headers={"Host": "attacker.example:8000"})
    assert stream.status_code == 400
    assert web.get(f"{hub.url}/healthz", headers={"Host": "hub.example:8000"}).status_code == 200
    assert web.get(f"{hub.url}/healthz").status_code == 200


def test_a_non_ascii_token_matches_its_utf8_bytes(start_hub: Callable[..., InProcessHub]) -> None:
    hub = start_hub(generate_token="clé-secrète-du-hub")
    right = web.post(f"{hub.url}/api/chat/generate", headers={"Authorization": "Bearer clé-secrète-du-hub".encode()})
    assert right.status_code == 201
    wrong = web.post(f"{hub.url}/api/chat/generate", headers={"Authorization": "Bearer cle-secrete-du-hub"})
    assert wrong.status_code == 401


def test_the_dashboards_origin_may_read_the_stream_with_cors_and_nothing_else(hub: InProcessHub) -> None:
    """The dashboard's change-driven redraw holds an EventSource from the operator's browser (default port 8501)."""
    for origin in ("http://127.0.0.1:8501", "http://localhost:8501"):
        with web.stream("GET", f"{hub.url}/api/chat/stream", headers={"Origin": origin}, timeout=10) as stream:
            assert stream.status_code == 200
            assert stream.headers["access-control-allow-origin"] == origin
    generate = web.post(f"{hub.url}/api/chat/generate", json={}, headers={"Origin": "http://127.0.0.1:8501"})
    assert generate.status_code == 403
    another_port = web.get(f"{hub.url}/api/chat/stream", headers={"Origin": "http://127.0.0.1:8502"})
    assert another_port.status_code == 403


def test_the_dashboard_origins_follow_its_port_and_stream_origins(start_hub: Callable[..., InProcessHub]) -> None:
    hub = start_hub(dashboard_port=9123, stream_origins="https://desk.example")
    for origin in ("http://127.0.0.1:9123", "https://desk.example"):
        with web.stream("GET", f"{hub.url}/api/chat/stream", headers={"Origin": origin}, timeout=10) as stream:
            assert stream.status_code == 200
            assert stream.headers["access-control-allow-origin"] == origin
    assert web.get(f"{hub.url}/api/chat/stream", headers={"Origin": "http://127.0.0.1:8501"}).status_code == 403


def test_a_loopback_hub_refuses_a_rebound_host_by_default_and_makes_no_round(hub: InProcessHub) -> None:
    """DNS rebinding: `attacker.example` re-pointed at 127.0.0.1 is same-origin with itself in the browser."""
    rebound = f"attacker.example:{hub.port}"
    response = web.post(
        f"{hub.url}/api/chat/generate", json={}, headers={"Host": rebound, "Origin": f"http://{rebound}"}
    )
    assert response.status_code == 400 and response.json()["error"] == "bad_request"
    assert "AGENTCHAT_ALLOWED_HOSTS" in response.json()["detail"]
    assert hub.messages()["messages"] == []
    for name in ("localhost", "127.0.0.1", "[::1]", "127.0.0.2"):
        assert web.get(f"{hub.url}/healthz", headers={"Host": f"{name}:{hub.port}"}).status_code == 200, name


def test_allowed_hosts_adds_names_a_loopback_hub_answers_for(start_hub: Callable[..., InProcessHub]) -> None:
    hub = start_hub(allowed_hosts="hub.example")
    assert web.get(f"{hub.url}/healthz", headers={"Host": "hub.example"}).status_code == 200
    assert web.get(f"{hub.url}/healthz", headers={"Host": "other.example"}).status_code == 400
    assert web.get(f"{hub.url}/healthz").status_code == 200  # the loopback names stay
