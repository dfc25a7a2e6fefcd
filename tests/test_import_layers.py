"""The package's layers, read from its own imports: no module imports itself back through others.

`docs/ARCHITECTURE.md` ("Which layer imports which") states the rules; these tests hold the code to
them. Imports are read from the source with `ast`, type-only imports (under `if TYPE_CHECKING:`)
included, since a circle held together by type hints is still a circle to the next reader.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kit.paths import ROOT

PACKAGE = ROOT / "agentchat"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py")) if "migrations" not in path.parts}


def imported_modules(name: str) -> set[str]:
    """The modules of the package that `name` imports (`from a.b import c` names `a.b.c` if that is a module)."""
    tree = ast.parse(MODULES[name].read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {module for module in found if module in MODULES and module != name}


IMPORTS = {name: imported_modules(name) for name in MODULES}


def circles() -> Iterator[list[str]]:
    """Each import circle once, as the path that closes it (a depth-first walk)."""
    done: set[str] = set()
    path: list[str] = []
    on_path: set[str] = set()

    def visit(name: str) -> Iterator[list[str]]:
        path.append(name)
        on_path.add(name)
        for imported in sorted(IMPORTS[name]):
            if imported in on_path:
                yield [*path[path.index(imported) :], imported]
            elif imported not in done:
                yield from visit(imported)
        on_path.discard(name)
        path.pop()
        done.add(name)

    for name in sorted(MODULES):
        if name not in done:
            yield from visit(name)


def test_no_module_of_the_package_imports_itself_back_through_others() -> None:
    assert list(circles()) == []


def test_a_circle_would_be_found() -> None:
    """The walk itself: a module that imported one importing it would be reported."""
    IMPORTS["agentchat.contract"].add("agentchat.hub_client")
    try:
        assert ["agentchat.contract", "agentchat.hub_client", "agentchat.contract"] in list(circles())
    finally:
        IMPORTS["agentchat.contract"].discard("agentchat.hub_client")


def package_of(name: str) -> str:
    return ".".join(name.split(".")[:2])


@pytest.mark.parametrize("name", sorted(name for name in MODULES if package_of(name) == "agentchat.market"))
def test_the_market_imports_nothing_of_the_hub_the_generators_or_the_dashboard(name: str) -> None:
    above = {"agentchat.hub", "agentchat.generator", "agentchat.dashboard"}
    assert {module for module in IMPORTS[name] if package_of(module) in above} == set()


@pytest.mark.parametrize("name", sorted(name for name in MODULES if package_of(name) == "agentchat.hub"))
def test_only_the_app_assembles_no_module_of_the_hub_imports_it(name: str) -> None:
    assert "agentchat.hub.app" not in IMPORTS[name]


def test_no_dashboard_page_imports_another_page() -> None:
    pages = {
        name
        for name in MODULES
        if name.startswith("agentchat.dashboard.")
        and not name.startswith("agentchat.dashboard.scripts.")  # the entry scripts Streamlit runs, one a page
        and name.endswith(("_page", "leaderboard"))
    }
    assert len(pages) >= 5  # live, diagnostics, leaderboard, history, agent
    assert {page: IMPORTS[page] & pages for page in pages if IMPORTS[page] & pages} == {}


def test_the_python_clients_speak_the_contract_and_import_nothing_of_the_hub() -> None:
    clients = [
        "agentchat.hub_client",
        "agentchat.client",
        "agentchat.probe",
        "agentchat.scheduling",
        "agentchat.agent_client",
    ]
    for client in clients:
        assert {module for module in IMPORTS[client] if package_of(module) == "agentchat.hub"} == set(), client
    assert all("agentchat.contract" in IMPORTS[client] for client in clients)


def test_a_hub_on_sqlite_imports_neither_the_clients_nor_the_http_or_postgresql_libraries(tmp_path: Path) -> None:
    """A hub on SQLite with no model configured uses none of them: about 0.15 s of every start, of every
    `agentchat` command, was importing them. Read in a fresh interpreter that builds the hub's app."""
    probe = (
        "import sys\n"
        "from agentchat.settings import load_settings\n"
        "from agentchat.hub.app import create_app\n"
        f"create_app(load_settings(database_url='sqlite:///{tmp_path / 'agentchat.db'}'))\n"
        "unused = ('httpx', 'psycopg', 'agentchat.client', 'agentchat.agent_client')\n"
        "print(sorted(name for name in unused if name in sys.modules))\n"
    )
    environment = {key: value for key, value in os.environ.items() if not key.startswith("AGENTCHAT_")}
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=tmp_path, env=environment
    )
    assert result.stdout.strip() == "[]"
