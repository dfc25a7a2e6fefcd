"""`FeedBuffer`: the messages a feed shows, each once, in id order, a bounded number per agent.

A pure object (no lock, no clock, no I/O): `RealtimeAgentMessages` calls it under its own lock,
and the unit tests call it directly. Deliberate choices:

- **Dedupe with bounded memory.** A message whose id is kept already, or that is older than
  everything kept for a full agent list, was shown before (or would be trimmed at once): it is
  dropped and counted as a duplicate. So memory is `max_per_agent` messages per agent however
  long the feed runs, and a replay after a reconnect costs nothing.
- **The position is not the newest kept id.** It is the highest id *seen*, messages of agents
  outside the filter included, so a resume starts after everything the hub has already sent.
- **Ids belong to one store.** The hub names its store (`store_id`); when a feed finds another
  store behind the same address (a reset or replaced database), the ids it kept name other
  messages, so the buffer empties and the position goes back to 0.
- **Kept messages are read-only** (`MappingProxyType` over a copy): a snapshot can hand them to
  every caller without one changing what another sees.
"""

from __future__ import annotations

import bisect
from collections.abc import Collection, Mapping
from types import MappingProxyType
from typing import Any

__all__ = ["FeedBuffer"]


class FeedBuffer:
    """The kept messages of one feed, and where it would resume.

    `position` is the highest id seen; `received` counts messages kept (each id once) and
    `duplicates` the arrivals dropped as already shown. Agents outside `agent_ids` are not kept.
    """

    def __init__(self, max_per_agent: int, agent_ids: Collection[str] | None = None, position: int = 0) -> None:
        if max_per_agent < 1 or position < 0:
            raise ValueError("max_per_agent must be >= 1 and position >= 0")
        self.max_per_agent = max_per_agent
        self.agent_ids = frozenset(agent_ids) if agent_ids is not None else None
        self.position = position
        self.store_id: str | None = None  # the store the kept ids came from, once the hub has said
        self.received = 0
        self.duplicates = 0
        self._ids: dict[str, list[int]] = {}  # per agent, ascending; parallel to `_messages`
        self._messages: dict[str, list[Mapping[str, Any]]] = {}
        self._kept_ids: set[int] = set()

    def add(self, message: Mapping[str, Any]) -> bool:
        """Keep `message` in id order unless it was shown before; True if it is new.

        Raises `KeyError`, `TypeError` or `ValueError` when it has no integer `id`.
        """
        message_id = int(message["id"])
        self.advance(message_id)
        agent_id = str(message.get("agent_id", ""))
        if self.agent_ids is not None and agent_id not in self.agent_ids:
            return False
        ids = self._ids.setdefault(agent_id, [])
        kept = self._messages.setdefault(agent_id, [])
        too_old = len(ids) >= self.max_per_agent and message_id < ids[0]
        if message_id in self._kept_ids or too_old:
            self.duplicates += 1
            return False
        at = bisect.bisect(ids, message_id)
        ids.insert(at, message_id)
        kept.insert(at, MappingProxyType(dict(message)))
        self._kept_ids.add(message_id)
        while len(ids) > self.max_per_agent:
            self._kept_ids.discard(ids.pop(0))
            kept.pop(0)
        self.received += 1
        return True

    def advance(self, position: int) -> None:
        """Move the resume position up to `position` (never back): everything up to it has been seen."""
        self.position = max(self.position, position)

    def follow_store(self, store_id: str | None) -> bool:
        """Note the store the hub serves; True if it is another than before, which empties the buffer."""
        if not store_id or store_id == self.store_id:
            return False
        known, self.store_id = self.store_id, store_id
        if known is None:
            return False
        self.position = 0
        self._ids.clear()
        self._messages.clear()
        self._kept_ids.clear()
        return True

    def newest_first(self) -> tuple[Mapping[str, Any], ...]:
        """Every kept message, all agents merged, the highest id first."""
        merged = [message for kept in self._messages.values() for message in kept]
        merged.sort(key=lambda message: int(message["id"]), reverse=True)
        return tuple(merged)

    def __len__(self) -> int:
        return len(self._kept_ids)
