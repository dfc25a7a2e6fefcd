"""The viewer's files and config as the hub serves them: headers, caching, the policy, the config.

What they do in a browser is tests/test_viewer.py; these are the HTTP contract, with no browser.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from agentchat.agents import BUILTIN_ROSTER
from agentchat.hub.viewer import load_assets
from tests.kit import web
from tests.kit.hubs import HubProcess

ASSETS = ["/agentchat.js", "/agentchat.css", "/favicon.svg"]


def test_the_page_carries_a_content_security_policy_and_is_revalidated_on_every_load(hub: HubProcess) -> None:
    response = web.get(f"{hub.url}/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert "script-src 'self'" in policy
    assert "connect-src 'self'" in policy
    assert "unsafe" not in policy
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "<agent-chat" in response.text


def test_every_file_asked_again_with_its_etag_is_answered_304_without_a_body(hub: HubProcess) -> None:
    for path in ["/", *ASSETS]:
        first = web.get(hub.url + path)
        again = web.get(hub.url + path, headers={"If-None-Match": first.headers["etag"]})
        assert (again.status_code, again.content) == (304, b""), path
        assert again.headers["etag"] == first.headers["etag"], path


def test_the_module_stylesheet_and_icon_may_be_cached_and_loaded_by_any_site(hub: HubProcess) -> None:
    for path in ASSETS:
        response = web.get(hub.url + path, headers={"Origin": "https://elsewhere.example"})
        assert response.status_code == 200, path
        assert response.headers["cache-control"] == "public, max-age=300", path
        assert response.headers["access-control-allow-origin"] == "*", path


def test_the_module_is_served_as_javascript(hub: HubProcess) -> None:
    response = web.get(f"{hub.url}/agentchat.js")
    assert response.headers["content-type"] == "text/javascript; charset=utf-8"
    assert 'customElements.define("agent-chat"' in response.text


def test_viewer_config_gives_the_roster_and_the_hubs_limits(start_hub: Callable[..., HubProcess]) -> None:
    hub = start_hub(max_per_agent=7, poll_seconds=12.5)
    config = web.get(f"{hub.url}/api/viewer/config").json()
    assert config == {
        "agents": [agent.to_dict() for agent in BUILTIN_ROSTER],
        "max_per_agent": 7,
        "poll_seconds": 12.5,
    }


def test_viewer_config_is_refused_to_an_origin_the_hub_does_not_allow(start_hub: Callable[..., HubProcess]) -> None:
    hub = start_hub(cors_origins="https://allowed.example")
    allowed = web.get(f"{hub.url}/api/viewer/config", headers={"Origin": "https://allowed.example"})
    other = web.get(f"{hub.url}/api/viewer/config", headers={"Origin": "https://other.example"})
    assert allowed.headers["access-control-allow-origin"] == "https://allowed.example"
    assert "access-control-allow-origin" not in other.headers


def test_the_shipped_files_hold_no_inline_script_no_html_parsing_and_nothing_from_elsewhere() -> None:
    assets = {path: asset.body.decode() for path, asset in load_assets().items()}
    page = assets["/"]
    assert re.findall(r"<script[^>]*>", page) == ['<script type="module" src="agentchat.js">']
    assert not re.search(r"<style|<[^>]+\s(style|on\w+)=", page)
    assert not re.search(r"(src|href)=\"(https?:)?//", page)
    assert "url(" not in assets["/agentchat.css"] and "@import" not in assets["/agentchat.css"]
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert sink not in assets["/agentchat.js"], sink
