"""Where agent messages come from: the offline generator and the LLM one (`agentchat.generator.llm`).

Both meet the market's `Generator` interface (`agentchat/market/generation.py`), which the round
calls; this package holds the implementations, the market holds what it needs of them. The LLM
one is imported where a model is configured (`hub/parts.py`): it brings the HTTP client, which a
hub writing offline never uses.
"""

from __future__ import annotations

from agentchat.generator.offline import OfflineGenerator

__all__ = ["OfflineGenerator"]
