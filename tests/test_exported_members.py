"""Each module's `__all__` is its public face, and the package's is exactly what `agentchat` offers.

As in httpx's `tests/test_exported_members.py`: the top-level package's public names are exactly its
`__all__`. Every other module of the package declares an `__all__` too; every name in it exists,
every public class and function the module defines is in it, and no code of this repository
imports a name from an agentchat module that the module does not export.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import pkgutil
from pathlib import Path
from types import ModuleType

import pytest

import agentchat

# Modules reworked on other branches of issue 11 (the hub client, the uvicorn seam, the write path,
# the packaging): each declares its `__all__` as it lands, and leaves this set.
ROOT = Path(__file__).resolve().parent.parent
NOT_MODULES_OF_THE_API = frozenset({"agentchat.__main__"})  # runs the CLI when imported
SOURCES = sorted(
    path
    for pattern in ("agentchat/**/*.py", "tests/*.py", "bench/*.py", "pages/*.py", "app.py", "scheduler.py")
    for path in ROOT.glob(pattern)
)


def module_names() -> list[str]:
    found = ["agentchat"] + [info.name for info in pkgutil.walk_packages(agentchat.__path__, "agentchat.")]
    return sorted(name for name in found if name not in NOT_MODULES_OF_THE_API)


MODULES = module_names()


def exported(module: ModuleType) -> list[str]:
    names = getattr(module, "__all__", None)
    assert isinstance(names, list), f"{module.__name__} declares no __all__ list"
    return names


def defined_classes_and_functions(module: ModuleType) -> set[str]:
    """Public classes and functions the module's own source defines at its top level."""
    assert module.__file__ is not None
    tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
    kinds = (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
    return {node.name for node in tree.body if isinstance(node, kinds) and not node.name.startswith("_")}


def test_package_exports_exactly_its_public_names() -> None:
    """Read through `dir()` and `getattr`: the package loads its names on first use (PEP 562)."""
    public = [
        name
        for name in dir(agentchat)
        if (not name.startswith("_") or name == "__version__")
        and not isinstance(getattr(agentchat, name), ModuleType)  # its submodules, once imported
        and name != "annotations"  # bound by `from __future__ import annotations`
    ]
    assert sorted(agentchat.__all__) == sorted(public)  # ruff's RUF022 keeps each __all__ in order


def test_the_packages_names_are_the_classes_they_name() -> None:
    from agentchat.agent_client import AgentClient
    from agentchat.client import RealtimeAgentMessages

    assert agentchat.AgentClient is AgentClient
    assert agentchat.RealtimeAgentMessages is RealtimeAgentMessages
    with pytest.raises(AttributeError, match="no attribute 'Nothing'"):
        agentchat.Nothing  # noqa: B018  (the lookup is the test)


@pytest.mark.parametrize("name", MODULES)
def test_every_name_a_module_exports_exists(name: str) -> None:
    module = importlib.import_module(name)
    missing = [member for member in exported(module) if not hasattr(module, member)]
    assert missing == [], f"{name}.__all__ names what it does not have"


@pytest.mark.parametrize("name", MODULES)
def test_every_public_class_and_function_a_module_defines_is_exported(name: str) -> None:
    module = importlib.import_module(name)
    unexported = sorted(defined_classes_and_functions(module) - set(exported(module)))
    assert unexported == [], f"{name}: export these or give them a leading underscore"


def imports_of_unexported_names() -> list[str]:
    found = []
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ImportFrom) or node.level or not node.module:
                continue
            if node.module.split(".")[0] != "agentchat":
                continue
            module = importlib.import_module(node.module)
            names = exported(module)
            for alias in node.names:
                submodule = hasattr(module, "__path__") and importlib.util.find_spec(f"{node.module}.{alias.name}")
                if alias.name not in names and not submodule:
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {alias.name} from {node.module}")
    return found


def test_code_imports_from_agentchat_modules_only_what_they_export() -> None:
    assert imports_of_unexported_names() == []
