"""The agent roster: who posts, in which color, with which strategy.

The built-in roster has six agents with distinct strategies. `AGENTCHAT_AGENTS_FILE`
replaces it with a TOML file of `[[agents]]` tables, each with `id`, `name`, `color`
and `strategy`; the file is validated whole at start so a typo stops the process
instead of surfacing as a strange message later.

A table with `publish_token_sha256` (the SHA-256 of the agent's token, 64 hex digits) is an
*external* agent: someone else's program that publishes its own messages and orders
(`POST /api/chat/messages`). The hub never writes for it in a round, so its `strategy` is a free
label (1-32 printable characters) rather than one of the simulated strategies. The file holds the
token's digest, never the token.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

from agentchat.errors import ConfigError

__all__ = [
    "BUILTIN_ROSTER",
    "MAX_LABEL_CHARS",
    "MAX_NAME_CHARS",
    "STRATEGIES",
    "Agent",
    "Strategy",
    "load_roster",
    "token_digest",
]

Strategy = Literal["arbitrage", "momentum", "mean_reversion", "market_making", "macro", "sentiment"]
STRATEGIES: tuple[str, ...] = get_args(Strategy)

# `\Z`, not `$`: `$` also matches before a final newline, which would let "a\n" through
_AGENT_ID = re.compile(r"[a-z0-9_]{1,64}\Z")  # the store's agent_id column holds 64
MAX_NAME_CHARS = 128  # the store's agent_name column
_COLOR = re.compile(r"#[0-9A-Fa-f]{6}\Z")
_SHA256_HEX = re.compile(r"[0-9a-f]{64}\Z")
MAX_LABEL_CHARS = 32  # an external agent's free strategy label


@dataclass(frozen=True, slots=True)
class Agent:
    id: str
    name: str
    color: str
    strategy: str
    publish_token_sha256: str | None = field(default=None, repr=False)  # set: an external agent

    @property
    def external(self) -> bool:
        """True for an agent that publishes for itself; the hub's rounds never write for it."""
        return self.publish_token_sha256 is not None

    def to_dict(self) -> dict[str, str]:
        """The roster entry `GET /api/agents` shows: never the token's digest."""
        return {"id": self.id, "name": self.name, "color": self.color, "strategy": self.strategy}


def token_digest(token: str) -> str:
    """The hex SHA-256 of a publish token, as a roster's `publish_token_sha256` holds it."""
    return hashlib.sha256(token.encode()).hexdigest()


BUILTIN_ROSTER: tuple[Agent, ...] = (
    Agent("claude_arbitrage", "Claude Arbitrage", "#A0826D", "arbitrage"),
    Agent("chatgpt_openai", "GPT-4 Momentum", "#C9B1E0", "momentum"),
    Agent("gemini_reversion", "Gemini Mean Reversion", "#7FB3D5", "mean_reversion"),
    Agent("llama_maker", "Llama Market Maker", "#82C49A", "market_making"),
    Agent("mistral_macro", "Mistral Macro", "#E8A87C", "macro"),
    Agent("grok_sentiment", "Grok Sentiment", "#E27D8E", "sentiment"),
)


def _agent_from_table(index: int, table: Any, source: str) -> Agent:
    where = f"{source}: agents[{index}]"
    if not isinstance(table, dict):
        raise ConfigError(f"{where} is not a table")
    missing = [key for key in ("id", "name", "color", "strategy") if not table.get(key)]
    if missing:
        raise ConfigError(f"{where} is missing {', '.join(missing)}")
    digest = table.get("publish_token_sha256")
    if digest is not None and (not isinstance(digest, str) or not _SHA256_HEX.match(digest.lower())):
        raise ConfigError(f"{where}: publish_token_sha256 must be the 64 hex digits of the token's SHA-256")
    agent = Agent(
        str(table["id"]),
        str(table["name"]),
        str(table["color"]),
        str(table["strategy"]),
        digest.lower() if digest is not None else None,
    )
    if not _AGENT_ID.match(agent.id):
        raise ConfigError(f"{where}: id {agent.id!r} must be 1-64 of a-z, 0-9, _")
    if not 0 < len(agent.name) <= MAX_NAME_CHARS or not agent.name.isprintable() or agent.name != agent.name.strip():
        raise ConfigError(f"{where}: name must be 1-{MAX_NAME_CHARS} printable characters, without edge spaces")
    if not _COLOR.match(agent.color):
        raise ConfigError(f"{where}: color {agent.color!r} must look like #A0826D")
    if agent.external:
        label = agent.strategy
        if not 0 < len(label) <= MAX_LABEL_CHARS or not label.isprintable() or label != label.strip():
            raise ConfigError(f"{where}: an external agent's strategy must be 1-{MAX_LABEL_CHARS} printable characters")
    elif agent.strategy not in STRATEGIES:
        raise ConfigError(f"{where}: strategy {agent.strategy!r} is not one of {', '.join(STRATEGIES)}")
    return agent


def load_roster(path: Path) -> tuple[Agent, ...]:
    """Read and validate a TOML roster; raise `ConfigError` naming the variable and the fault."""
    source = f"AGENTCHAT_AGENTS_FILE={path}"
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{source}: cannot read ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML ({exc})") from None
    tables = document.get("agents")
    if not isinstance(tables, list) or not tables:
        raise ConfigError(f"{source}: needs at least one [[agents]] table")
    roster = tuple(_agent_from_table(i, table, source) for i, table in enumerate(tables))
    ids = [agent.id for agent in roster]
    duplicates = sorted({agent_id for agent_id in ids if ids.count(agent_id) > 1})
    if duplicates:
        raise ConfigError(f"{source}: duplicate agent id {', '.join(duplicates)}")
    return roster
