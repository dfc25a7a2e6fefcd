"""The connection under each live SSE stream; `open_socket` picks the implementation for a server.

`base.py` is the interface the fan-out talks to, `asgi.py` the implementation for any ASGI
server, `uvicorn.py` the one for uvicorn (the only module that knows its internals).
"""

from __future__ import annotations

from starlette.types import Send

from agentchat.hub.sockets.asgi import AsgiSocket
from agentchat.hub.sockets.base import DONE, FULL, GONE, PENDING, Chunk, StreamSocket, Write, http_chunk
from agentchat.hub.sockets.uvicorn import UvicornSocket

__all__ = [
    "DONE",
    "FULL",
    "GONE",
    "PENDING",
    "AsgiSocket",
    "Chunk",
    "StreamSocket",
    "UvicornSocket",
    "Write",
    "http_chunk",
    "open_socket",
]


def open_socket(send: Send) -> StreamSocket:
    """The socket for a stream whose ASGI `send` is given: uvicorn's when the server is uvicorn."""
    return UvicornSocket.attach(send) or AsgiSocket(send)
