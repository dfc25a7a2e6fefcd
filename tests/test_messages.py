"""GET /api/chat/messages (the polling fallback), /api/agents, /healthz and /metrics."""

from __future__ import annotations

import pytest

from agentchat.agents import BUILTIN_ROSTER
from tests.kit import web
from tests.kit.hubs import InProcessHub


def test_messages_since_id_returns_newer_ones_in_id_order(hub: InProcessHub) -> None:
    made = hub.generate().json()["messages"] + hub.generate().json()["messages"]
    page = hub.messages(since_id=made[4]["id"])
    assert page["messages"] == made[5:]
    assert page["last_id"] == made[-1]["id"]
    assert page["retention_seconds"] == 600


def test_messages_limit_and_agents_filter(hub: InProcessHub) -> None:
    hub.generate()
    hub.generate()
    assert len(hub.messages(limit=4)["messages"]) == 4
    only = hub.messages(agents="grok_sentiment,llama_maker")["messages"]
    assert sorted(message["agent_id"] for message in only) == ["grok_sentiment"] * 2 + ["llama_maker"] * 2


def test_messages_with_nothing_new_keeps_last_id_at_since_id(hub: InProcessHub) -> None:
    last = hub.generate().json()["messages"][-1]["id"]
    answer = hub.messages(since_id=last)
    assert {key: answer[key] for key in ("messages", "last_id", "retention_seconds", "gap")} == {
        "messages": [],
        "last_id": last,
        "retention_seconds": 600,
        "gap": False,
    }


def test_etag_gives_304_until_something_new_arrives(hub: InProcessHub) -> None:
    hub.generate()
    url = f"{hub.url}/api/chat/messages"
    first = web.get(url)
    etag = first.headers["etag"]
    unchanged = web.get(url, headers={"If-None-Match": etag})
    hub.generate(["claude_arbitrage"])
    changed = web.get(url, headers={"If-None-Match": etag})
    assert unchanged.status_code == 304 and unchanged.content == b""
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag


@pytest.mark.parametrize(
    "params",
    [{"since_id": "x"}, {"since_id": "-1"}, {"limit": "0"}, {"limit": "1001"}, {"agents": "nobody"}],
)
def test_bad_parameter_is_a_400_with_a_json_error(hub: InProcessHub, params: dict[str, str]) -> None:
    response = web.get(f"{hub.url}/api/chat/messages", params=params)
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"error", "detail"}


def test_agents_lists_the_roster(hub: InProcessHub) -> None:
    roster = web.get(f"{hub.url}/api/agents").json()
    assert [agent["id"] for agent in roster] == [agent.id for agent in BUILTIN_ROSTER]
    assert {"id": "claude_arbitrage", "name": "Claude Arbitrage", "color": "#A0826D", "strategy": "arbitrage"} in roster
    assert set(roster[0]) == {"id", "name", "color", "strategy"}


def test_healthz_reports_database_bus_clients_and_uptime(hub: InProcessHub) -> None:
    health = web.get(f"{hub.url}/healthz").json()
    assert health["status"] == "ok"
    assert health["database"] == "ok"
    assert health["bus"] == "ok"
    assert health["clients"] == 0
    assert health["uptime_seconds"] > 0


def test_metrics_are_prometheus_text_with_the_hub_counters(hub: InProcessHub) -> None:
    response = web.get(f"{hub.url}/metrics")
    assert response.headers["content-type"].startswith("text/plain")
    for name in (
        "agentchat_clients_connected",
        "agentchat_messages_published_total",
        "agentchat_messages_delivered_total",
        "agentchat_clients_dropped_slow_total",
        "agentchat_heartbeats_total",
    ):
        assert f"\n{name} " in response.text


def test_unknown_path_is_a_json_404(hub: InProcessHub) -> None:
    response = web.get(f"{hub.url}/api/nothing")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
