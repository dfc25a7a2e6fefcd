"""docs/API.md: the hub's OpenAPI document rendered as Markdown tables.

The page is generated, never edited: `make api-doc` runs `python -m agentchat.hub.api_reference` from
the checkout, which writes it from `build_document` for the built-in roster to `docs/API.md` under the
current directory (or to the path given as its argument: an installed package never writes into its
own install), and `tests/test_openapi.py` fails when the committed page is not what the current
document renders to.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agentchat.agents import BUILTIN_ROSTER
from agentchat.hub.openapi import Schema, build_document

__all__ = ["PAGE", "main", "reference_page", "render"]

PAGE = Path("docs") / "API.md"  # relative to the checkout the writer runs from

INTRO = """\
# HTTP API reference

Generated from the hub's OpenAPI 3.1 document, which every hub serves at `GET /openapi.json`
(`agentchat/hub/openapi.py`); `make api-doc` writes this page and a test fails when it is stale.
The agent ids below are the built-in roster's; a hub with `AGENTCHAT_AGENTS_FILE` lists its own.
Every error body is `{"error": "<short code>", "detail": "<what was wrong>"}`.
"""


def render(document: Schema) -> str:
    components = document["components"]
    lines = [INTRO, "## Endpoints", "", "| endpoint | what it does | answers |", "|---|---|---|"]
    parameters = ["| endpoint | parameter | in | value | meaning |", "|---|---|---|---|---|"]
    for path, item in document["paths"].items():
        for method, operation in item.items():
            endpoint = f"`{method.upper()} {path}`"
            summary = operation["summary"]
            if "security" in operation:
                optional = {} in operation["security"]
                summary += " (bearer token" + (" when the hub has one)" if optional else ")")
            answers = "; ".join(_answer(status, response) for status, response in operation["responses"].items())
            lines.append(f"| {endpoint} | {_cell(summary)} | {_cell(answers)} |")
            for reference in operation.get("parameters", []):
                parameter = _resolve(document, reference)
                parameters.append(
                    f"| {endpoint} | `{parameter['name']}` | {parameter['in']} | {_cell(_type(parameter['schema']))} "
                    f"| {_cell(parameter.get('description', ''))} |"
                )
            if "requestBody" in operation:
                body = operation["requestBody"]["content"]["application/json"]["schema"]
                required = "required" if operation["requestBody"].get("required") else "optional"
                parameters.append(f"| {endpoint} | body | JSON, {required} | {_cell(_type(body))} | |")
    lines += ["", "## Parameters", "", *parameters, "", "## Response headers", ""]
    lines += ["| header | value | meaning |", "|---|---|---|"]
    for name, header in components["headers"].items():
        lines.append(f"| `{name}` | {_cell(_type(header['schema']))} | {_cell(header['description'])} |")
    lines += ["", "## Schemas", "", "| schema | field | value | required |", "|---|---|---|---|"]
    for name, schema in components["schemas"].items():
        if "properties" not in schema:
            lines.append(f"| `{name}` | | {_cell(_type(schema))} | |")
            continue
        lines += [f"| `{name}` | `{field}` | {value} | {required} |" for field, value, required in _fields(schema)]
        if schema.get("additionalProperties") is not False:
            lines.append(f"| `{name}` | any other | other fields may appear | no |")
    lines += ["", "## Details"]
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if "description" in operation:
                lines += ["", f"`{method.upper()} {path}`: {operation['description']}"]
    for name, schema in components["schemas"].items():
        if "description" in schema:
            lines += ["", f"`{name}`: {schema['description']}"]
    return "\n".join(lines) + "\n"


def _fields(schema: Schema, prefix: str = "") -> list[tuple[str, str, str]]:
    """(field, value, required) rows of an object schema, an inline object's fields as `outer.inner`."""
    rows = []
    for field, value in schema["properties"].items():
        required = "yes" if field in schema.get("required", []) else "no"
        if "properties" in value:
            closed = value.get("additionalProperties") is False
            rows.append((f"{prefix}{field}", "object" if closed else "object; other fields may appear", required))
            rows += _fields(value, f"{prefix}{field}.")
        else:
            rows.append((f"{prefix}{field}", _cell(_type(value)), required))
    return rows


def _answer(status: str, response: Schema) -> str:
    content = response.get("content", {})
    bodies = [f"`{media}` {_type(entry['schema'])}" for media, entry in content.items()]
    return f"{status} " + (" ".join(bodies) if bodies else "no body")


def _type(schema: Schema) -> str:
    """A schema in a few words: `integer 1-1000`, `array of Message`, `"no-cache"`."""
    if "$ref" in schema:
        return str(schema["$ref"].rsplit("/", 1)[-1])
    if "const" in schema:
        return _literal(schema["const"])
    if "enum" in schema:
        return "one of " + ", ".join(_literal(value) for value in schema["enum"])
    options = schema.get("anyOf") or schema.get("oneOf")
    if options:
        return " or ".join(_type(option) for option in options)
    kinds = schema.get("type", "any")
    kind = " or ".join(kinds) if isinstance(kinds, list) else str(kinds)
    if "array" in kind and "items" in schema:
        kind = kind.replace("array", f"array of {_type(schema['items'])}")
        if "minItems" in schema:
            kind += f", at least {schema['minItems']}"
    if "properties" in schema:
        kind = "{" + ", ".join(f"{name}: {_type(value)}" for name, value in schema["properties"].items()) + "}"
    if "minimum" in schema and "maximum" in schema:
        kind += f" {schema['minimum']} to {schema['maximum']}"
    elif "minimum" in schema:
        kind += f" ≥ {schema['minimum']}"
    if "exclusiveMinimum" in schema:
        kind += f" > {schema['exclusiveMinimum']}"
    if "maxLength" in schema:
        kind += f", {schema.get('minLength', 0)} to {schema['maxLength']} characters"
    if "format" in schema:
        kind += f" ({schema['format']})"
    elif "pattern" in schema:
        kind += f" matching `{schema['pattern']}`"
    if "default" in schema:
        kind += f", default {schema['default']}"
    if "contentSchema" in schema:
        kind += f" (JSON {_type(schema['contentSchema'])})"
    return kind


def _literal(value: Any) -> str:
    return "null" if value is None else f'`"{value}"`' if isinstance(value, str) else f"`{value}`"


def _resolve(document: Schema, reference: Schema) -> Schema:
    node: Any = document
    for part in reference["$ref"].removeprefix("#/").split("/"):
        node = node[part]
    return dict(node)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def reference_page() -> str:
    """docs/API.md as it should read: the document of a hub with the built-in roster and no token."""
    return render(build_document(BUILTIN_ROSTER, token_required=False))


def main(argv: Sequence[str] | None = None) -> None:
    """Write the page to the path given, `docs/API.md` of the current directory by default."""
    parser = argparse.ArgumentParser(description="Write the HTTP API reference page (Markdown).")
    parser.add_argument("output", nargs="?", type=Path, default=PAGE, help=f"where to write it (default {PAGE})")
    output: Path = parser.parse_args(argv).output
    output.write_text(reference_page(), encoding="utf-8")
    sys.stdout.write(f"wrote {output}\n")


if __name__ == "__main__":
    main()
