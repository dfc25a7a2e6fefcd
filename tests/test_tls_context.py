"""Every httpx client of the product and of the suite shares its process's one TLS context.

httpx builds a TLS context from the CA bundle for every client it makes, `httpx.get(...)` included
(about 30 ms of CPU, even for a plain-HTTP URL). The product shares one per process
(`agentchat.transport.shared_tls`) and the suite's one-call functions do too (`tests/kit/web.py`);
this reads the source for a client made without it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from tests.kit.paths import ROOT

CLIENT_MAKERS = {"get", "post", "put", "patch", "delete", "head", "options", "request", "stream"}
CLIENT_MAKERS |= {"Client", "AsyncClient"}
SOURCES = [
    *sorted((ROOT / "agentchat").rglob("*.py")),
    *sorted((ROOT / "tests").rglob("*.py")),
    *sorted((ROOT / "pages").glob("*.py")),
    ROOT / "app.py",
    ROOT / "scheduler.py",
]


def clients_without_the_shared_context(source: str) -> Iterator[int]:
    """The lines of `httpx.<maker>(...)` calls given neither `verify=`, `transport=` nor `**options`."""
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if not (isinstance(node.func.value, ast.Name) and node.func.value.id == "httpx"):
            continue
        if node.func.attr in CLIENT_MAKERS and not {kw.arg for kw in node.keywords} & {"verify", "transport", None}:
            yield node.lineno


def test_no_httpx_client_builds_a_tls_context_of_its_own() -> None:
    found = {
        str(path.relative_to(ROOT)): lines
        for path in SOURCES
        if (lines := list(clients_without_the_shared_context(path.read_text())))
    }
    assert not found, f"pass verify=shared_tls(), or use tests.kit.web: {found}"


def test_a_client_without_the_shared_context_would_be_found() -> None:
    source = "import httpx\nhttpx.get(url, timeout=1)\nhttpx.Client(verify=ctx)\nhttpx.post(url, **options)\n"
    assert list(clients_without_the_shared_context(source)) == [2]
