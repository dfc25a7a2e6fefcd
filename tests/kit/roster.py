"""A roster file as an operator writes it: the built-in agents beside two external ones, `alpha` and `beta`.

The external agents publish with the tokens in `TOKENS`; the file holds only their digests.
(tests/test_publish.py, tests/test_agent_client.py, tests/test_publish_viewer.py, bench/publish.py)
"""

from __future__ import annotations

from pathlib import Path

from agentchat.agents import BUILTIN_ROSTER, token_digest

TOKENS = {"alpha": "alpha-secret-token", "beta": "beta-secret-token"}


def roster_file(directory: Path) -> Path:
    """The built-in agents and two external ones, as an operator writes it."""
    lines = []
    for agent in BUILTIN_ROSTER:
        lines += ["[[agents]]", f'id = "{agent.id}"', f'name = "{agent.name}"', f'color = "{agent.color}"']
        lines += [f'strategy = "{agent.strategy}"', ""]
    for agent_id, token in TOKENS.items():
        lines += ["[[agents]]", f'id = "{agent_id}"', f'name = "Agent {agent_id.title()}"', 'color = "#336699"']
        lines += ['strategy = "LLM swing (gpt-4o)"', f'publish_token_sha256 = "{token_digest(token)}"', ""]
    path = directory / "agents.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
