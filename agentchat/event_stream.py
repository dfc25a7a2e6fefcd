"""Reading one open answer to `GET STREAM_PATH`: its SSE events, the last `retry:` it sent, its read timeout.

Deliberate choices:

- **`retry:` is read off the bytes.** sseclient-py does not dispatch an event without data, and
  the hub sends `retry: 3000` in a frame of its own, so the bytes handed to sseclient-py pass
  through `RetryWatcher`, which notes `retry:` lines on their way. (httpx-sse would hand that
  frame over as an event of its own, with empty data, which every reader would then have to skip;
  sseclient-py stays the parser.)
- **Another thread can end a stream at once.** `EventStream.shutdown` shuts the socket down,
  which wakes a blocked read; closing the response from another thread would race the reader.
- **The read timeout can change mid-response** (`set_read_timeout`): the connection is an
  `AdjustableStream` of `transport.py`.
"""

from __future__ import annotations

import contextlib
import logging
import socket
from collections.abc import Iterable, Iterator
from typing import Any

import httpcore
import httpx
import sseclient

from agentchat.contract import EVENT_STREAM
from agentchat.transport import AdjustableStream

__all__ = ["EventStream", "RetryWatcher"]

logger = logging.getLogger(__name__)

_RETRY_PREFIX = b"retry:"


class EventStream:
    """One open answer to `GET STREAM_PATH`: its SSE events, the last `retry:` it sent, its read timeout.

    `shutdown()` may be called from any thread; everything else belongs to the thread that reads.
    """

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._watcher = RetryWatcher(response.iter_bytes())
        self._network: object = response.extensions.get("network_stream")

    @property
    def status_code(self) -> int:
        return self.response.status_code

    @property
    def content_type(self) -> str:
        return str(self.response.headers.get("content-type", ""))

    @property
    def is_event_stream(self) -> bool:
        return self.status_code == 200 and self.content_type.startswith(EVENT_STREAM)

    @property
    def retry_milliseconds(self) -> int | None:
        """The reconnection delay the hub asked for in its last `retry:` line, if any yet."""
        return self._watcher.retry_milliseconds

    def events(self) -> Iterator[Any]:
        """sseclient-py's `Event`s (`event`, `data`, `id`) as they arrive; ends when the stream does.

        Reading can raise httpx's `TransportError` (a timeout included), `StreamError`, or
        `ValueError` for bytes that are not UTF-8.
        """
        events: Iterator[Any] = sseclient.SSEClient(self._watcher).events()
        return events

    def set_read_timeout(self, seconds: float) -> None:
        """Bound each later read of this stream by `seconds` instead of the client's timeout."""
        if isinstance(self._network, AdjustableStream):
            self._network.read_timeout = seconds
        else:  # e.g. through a proxy from the environment, whose transport is httpx's own
            logger.warning("the stream from %s keeps the client's read timeout", self.response.url)

    def shutdown(self) -> None:
        """Wake a thread blocked reading this stream: it sees the stream end. Safe from any thread."""
        sock = self._network.get_extra_info("socket") if isinstance(self._network, httpcore.NetworkStream) else None
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.response.close()


class RetryWatcher:
    """Hands a stream's bytes on unchanged and remembers the last `retry:` value among them.

    Only the first few bytes of each line are kept to recognise it, so a long `data:` line costs nothing.
    """

    _HEAD_BYTES = 32

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._head = b""
        self.retry_milliseconds: int | None = None

    def __iter__(self) -> RetryWatcher:
        return self

    def __next__(self) -> bytes:
        chunk = next(self._chunks)
        parts = chunk.split(b"\n")
        for index, part in enumerate(parts):
            if len(self._head) < self._HEAD_BYTES:
                self._head += part[: self._HEAD_BYTES - len(self._head)]
            if index < len(parts) - 1:  # the line ended in this chunk
                self._line_ended(self._head.rstrip(b"\r"))
                self._head = b""
        return chunk

    def _line_ended(self, head: bytes) -> None:
        if head.startswith(_RETRY_PREFIX):
            value = head[len(_RETRY_PREFIX) :].strip()
            if value.isdigit():
                self.retry_milliseconds = int(value)
