"""The hub's contract is written once: the browser module's copy of it and the hub's routes agree with it.

`agentchat/contract.py` names every path, header and limit of the API; the Python side imports it.
The browser module (`hub/static/agentchat.js`) runs in the browser and keeps its own constants under
the same names: these tests fail as soon as one of them differs, or the module writes an API path
the contract does not name.
"""

from __future__ import annotations

import re
from importlib import resources
from typing import Any

from starlette.routing import Route

from agentchat import contract
from agentchat.hub.app import create_app
from agentchat.settings import Settings

CONSTANT = re.compile(r"^const ([A-Z_]+) = (\"[^\"]*\"|\d+);", re.MULTILINE)
API_PATH = re.compile(r"\"(/api/[^\"]*)\"")
CONTRACT_IN_THE_MODULE = {"STREAM_PATH", "MESSAGES_PATH", "VIEWER_CONFIG_PATH", "MESSAGES_PAGE_LIMIT"}


def module_source() -> str:
    return resources.files("agentchat.hub").joinpath("static", "agentchat.js").read_text(encoding="utf-8")


def module_constants() -> dict[str, Any]:
    """The browser module's top-level `const NAME = "text"` or `= 123`, as Python values."""
    return {
        name: value.strip('"') if value.startswith('"') else int(value)
        for name, value in CONSTANT.findall(module_source())
    }


def test_the_browser_module_holds_the_contracts_paths_and_page_limit_under_the_same_names() -> None:
    constants = module_constants()
    assert constants.keys() >= CONTRACT_IN_THE_MODULE
    shared = {name: value for name, value in constants.items() if name in contract.__all__}
    assert shared == {name: getattr(contract, name) for name in shared}


def test_the_browser_module_writes_no_api_path_but_the_contracts_constants() -> None:
    paths = API_PATH.findall(module_source())
    declared = [value for name, value in module_constants().items() if name.endswith("_PATH")]
    assert sorted(paths) == sorted(declared)


def test_every_path_of_the_contract_is_a_route_of_the_hub(sqlite_url: str) -> None:
    app = create_app(Settings(_env_file=None, database_url=sqlite_url))
    routes = {route.path for route in app.starlette.routes if isinstance(route, Route)}
    paths = {getattr(contract, name) for name in contract.__all__ if name.endswith("_PATH")}
    assert paths <= routes


def test_equity_path_fills_the_route_pattern_in_with_the_agent_id_percent_encoded() -> None:
    assert contract.equity_path("claude") == "/api/agents/claude/equity"
    assert contract.equity_path("a/b c") == "/api/agents/a%2Fb%20c/equity"
