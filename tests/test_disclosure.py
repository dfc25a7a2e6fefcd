"""What the hub tells a stranger: never where its database lives, never a `Host` it was sent back in a `Location`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.kit import web
from tests.kit.hubs import InProcessHub


def test_healthz_names_the_database_file_but_not_its_path(hub: InProcessHub, tmp_path: Path) -> None:
    database = tmp_path / "agentchat.db"
    assert database.exists()
    database.unlink()  # the store now reports the file as removed
    response = web.get(f"{hub.url}/healthz", timeout=10)
    assert response.status_code == 503
    detail = response.json()["database"]
    assert "agentchat.db" in detail
    assert str(tmp_path) not in detail


def test_a_trailing_slash_is_not_redirected_to_the_host_a_client_named(start_hub: Any) -> None:
    hub = start_hub(allowed_hosts="*")  # any Host may reach this hub, so nothing filters the header first
    response = web.get(
        f"{hub.url}/api/chat/messages/", headers={"Host": "attacker.example"}, follow_redirects=False, timeout=10
    )
    assert "attacker.example" not in response.headers.get("location", "")
    assert response.status_code == 404 and response.json()["error"] == "not_found"
