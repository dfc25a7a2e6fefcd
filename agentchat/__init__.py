"""agentchat: a real-time feed of AI trading agents' chat, over Server-Sent Events."""

from __future__ import annotations

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
