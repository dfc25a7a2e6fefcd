"""GET /openapi.json: a valid OpenAPI 3.1 document of exactly the routes the hub serves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import OpenAPIV31SpecValidator

from agentchat.agents import BUILTIN_ROSTER, Agent
from agentchat.hub.api_reference import PAGE, main, reference_page
from agentchat.hub.app import create_app
from agentchat.hub.openapi import build_document
from agentchat.settings import Settings
from tests.kit import web
from tests.kit.hubs import HubProcess
from tests.kit.paths import ROOT

HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def documented_operations(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (path, method.upper()) for path, item in document["paths"].items() for method in item if method in HTTP_METHODS
    }


def test_hub_serves_a_valid_openapi_3_1_document(hub: HubProcess) -> None:
    response = web.get(f"{hub.url}/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    document = response.json()
    assert document["openapi"] == "3.1.0"
    OpenAPIV31SpecValidator(document).validate()


def test_the_validator_rejects_a_document_that_breaks_openapi_3_1() -> None:
    document = build_document(BUILTIN_ROSTER, token_required=True)
    del document["paths"]["/healthz"]["get"]["responses"]["200"]["description"]
    assert not OpenAPIV31SpecValidator(document).is_valid()


def test_document_lists_exactly_the_routes_the_app_serves(sqlite_url: str) -> None:
    """The drift guard: a route without its entry in OPERATIONS, or an entry without a route, fails here."""
    app = create_app(Settings(_env_file=None, database_url=sqlite_url))
    served = {(route.path, method) for route in app.starlette.routes for method in route.methods or ()}
    implied_head = {(path, "HEAD") for path, method in served if method == "GET"}
    assert implied_head <= served  # why the document need not list HEAD (see agentchat/hub/openapi.py)
    document = build_document(app.hub.roster, token_required=False)
    assert documented_operations(document) == served - implied_head


def test_generate_needs_the_bearer_token_only_when_the_hub_has_one() -> None:
    secured = build_document(BUILTIN_ROSTER, token_required=True)["paths"]["/api/chat/generate"]["post"]
    open_ = build_document(BUILTIN_ROSTER, token_required=False)["paths"]["/api/chat/generate"]["post"]
    assert secured["security"] == [{"bearer": []}]
    assert open_["security"] == [{"bearer": []}, {}]


def test_agent_ids_in_the_document_are_the_hubs_roster() -> None:
    roster = (Agent("alpha", "Alpha", "#000000", "macro"), Agent("beta", "Beta", "#FFFFFF", "momentum"))
    schemas = build_document(roster, token_required=False)["components"]["schemas"]
    assert schemas["AgentId"] == {"type": "string", "enum": ["alpha", "beta"]}


@pytest.mark.parametrize("status", ["400", "401", "413", "503"])
def test_generate_documents_each_refusal_with_the_json_error_body(status: str) -> None:
    responses = build_document(BUILTIN_ROSTER, token_required=True)["paths"]["/api/chat/generate"]["post"]["responses"]
    assert responses[status]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}


def test_api_reference_page_is_rendered_from_the_current_document() -> None:
    """docs/API.md is generated: after a change to the document, `make api-doc` rewrites it."""
    assert (ROOT / PAGE).read_text(encoding="utf-8") == reference_page()


def test_api_reference_writer_writes_where_it_is_told_never_into_the_package(tmp_path: Path) -> None:
    """An installed package has no docs/ to update: the writer writes the path it is given."""
    main([str(tmp_path / "API.md")])
    assert (tmp_path / "API.md").read_text(encoding="utf-8") == reference_page()
    assert not PAGE.is_absolute()
