"""The hub: the ASGI app (`app`), its endpoints, the SSE stream and its fan-out, the write path."""

__all__: list[str] = []
