"""Where agent messages come from: the offline generator and the LLM one.

Both meet the market's `Generator` interface (`agentchat/market/generation.py`), which the round
calls; this package holds the implementations, the market holds what it needs of them.
"""

from __future__ import annotations

from agentchat.generator.llm import LlmGenerator
from agentchat.generator.offline import OfflineGenerator

__all__ = ["LlmGenerator", "OfflineGenerator"]
