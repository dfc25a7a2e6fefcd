"""agentchat: a real-time feed of AI trading agents' chat, over Server-Sent Events.

The public names are loaded on first use (PEP 562): `python -m agentchat hub` and `agentchat db`
import this package too, and neither needs the clients or the HTTP library under them (about
0.1 s of every command's start).
"""

from __future__ import annotations

import importlib
import typing

if typing.TYPE_CHECKING:
    from agentchat.agent_client import AgentClient
    from agentchat.client import FeedDiagnostics, FeedSnapshot, RealtimeAgentMessages
    from agentchat.errors import AgentchatError
    from agentchat.message import Message

__version__ = "0.1.0"

__all__ = [
    "AgentClient",
    "AgentchatError",
    "FeedDiagnostics",
    "FeedSnapshot",
    "Message",
    "RealtimeAgentMessages",
    "__version__",
]

_HOMES = {
    "AgentClient": "agentchat.agent_client",
    "AgentchatError": "agentchat.errors",
    "FeedDiagnostics": "agentchat.client",
    "FeedSnapshot": "agentchat.client",
    "Message": "agentchat.message",
    "RealtimeAgentMessages": "agentchat.client",
}


def __getattr__(name: str) -> typing.Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'agentchat' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # the next lookup is an ordinary one
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOMES})
