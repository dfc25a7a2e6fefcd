"""How the Python clients connect: one TLS context per process, and stream connections whose read timeout can change.

Deliberate choices:

- **One TLS context per process.** httpx builds one per client from the CA bundle (16-34 ms of
  CPU), `httpx.get` included, which makes a client per call; every session of a dashboard has a
  feed with a client of its own and fifty feeds start fifty threads, so every client shares one
  (`shared_tls`), built once under a lock. `tests/test_tls_context.py` finds a client made without it.
- **A stream's read timeout can change mid-response.** A feed learns the hub's heartbeat period,
  and with it the liveness timeout, from the stream's first event; httpx fixes a request's read
  timeout once its body starts. So streams go through their own transport (`stream_transport`),
  whose connections are httpcore's, wrapped (`AdjustableStream`) so that a new `read_timeout`
  applies to the reads that follow. httpx 0.28 takes no network backend (encode/httpx#3749 adds
  one), so `stream_transport` sets its pool itself: the one use of an httpx internal, checked when
  it is built. Stream connections are never kept alive, so a changed timeout never outlives its stream.
"""

from __future__ import annotations

import functools
import ssl
import threading
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

__all__ = ["AdjustableStream", "shared_tls", "stream_transport"]

_tls_lock = threading.Lock()


@functools.cache
def _tls_context() -> ssl.SSLContext:
    return httpx.create_ssl_context()


def shared_tls() -> ssl.SSLContext:
    """The process's one TLS context, for every httpx client it makes."""
    with _tls_lock:  # feeds start in threads of their own: fifty at once must not build fifty
        return _tls_context()


def stream_transport() -> httpx.HTTPTransport:
    """httpx's transport over a pool of `AdjustableStream` connections, none kept alive."""
    transport = httpx.HTTPTransport(verify=shared_tls())
    if not isinstance(getattr(transport, "_pool", None), httpcore.ConnectionPool):  # see the module docstring
        raise RuntimeError("this httpx keeps its connection pool elsewhere; agentchat's streams need updating")
    transport._pool = httpcore.ConnectionPool(
        ssl_context=shared_tls(), max_keepalive_connections=0, network_backend=_AdjustableBackend()
    )
    return transport


class AdjustableStream(httpcore.NetworkStream):
    """httpcore's own connection, with a read timeout its owner may change while a response is read."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner
        self.read_timeout: float | None = None  # None: the request's read timeout

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, timeout if self.read_timeout is None else self.read_timeout)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, timeout)

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        self._inner = self._inner.start_tls(ssl_context, server_hostname, timeout)
        return self

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _AdjustableBackend(httpcore.NetworkBackend):
    """httpcore's synchronous backend, handing out `AdjustableStream`s."""

    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        return AdjustableStream(self._inner.connect_tcp(host, port, timeout, local_address, socket_options))

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None
    ) -> httpcore.NetworkStream:
        return AdjustableStream(self._inner.connect_unix_socket(path, timeout, socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)
