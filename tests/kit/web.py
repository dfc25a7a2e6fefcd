"""httpx's one-call functions (`get`, `post`, ...) with the process's one TLS context.

`httpx.get(url)` makes a client for the call, and every client builds a TLS context from the CA
bundle: about 30 ms of CPU, even for a plain-HTTP URL. The suite makes thousands of such calls
(a wait that polls a metric makes one every 50 ms), which made the TLS context the largest single
cost of the pytest workers. These functions take the same arguments and give the client the
context the product's own clients share (`agentchat.transport.shared_tls`); no connection is kept
between calls, as with httpx's.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from agentchat.transport import shared_tls

__all__ = ["delete", "get", "head", "options", "patch", "post", "put", "request", "stream"]


def request(method: str, url: str, **kwargs: Any) -> httpx.Response:
    kwargs.setdefault("verify", shared_tls())
    return httpx.request(method, url, **kwargs)


get = functools.partial(request, "GET")
head = functools.partial(request, "HEAD")
options = functools.partial(request, "OPTIONS")
post = functools.partial(request, "POST")
put = functools.partial(request, "PUT")
patch = functools.partial(request, "PATCH")
delete = functools.partial(request, "DELETE")


@contextmanager
def stream(method: str, url: str, **kwargs: Any) -> Iterator[httpx.Response]:
    kwargs.setdefault("verify", shared_tls())
    with httpx.stream(method, url, **kwargs) as response:
        yield response
