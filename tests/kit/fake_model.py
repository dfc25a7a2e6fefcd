"""A tiny OpenAI-compatible model server for tests (it is not part of agentchat).

`POST /v1/chat/completions` answers an assistant message whose content is what the test's `answer`
returns for the request body, and keeps every request (path and body) so a test can read what the
model was asked.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Answer = Callable[[dict[str, Any]], str]


class FakeModel(ThreadingHTTPServer):
    """The server: `answer(body)` is the assistant's content; `requests` holds what it was asked."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.requests: list[dict[str, Any]] = []
        super().__init__(("127.0.0.1", 0), _ModelHandler)

    @property
    def url(self) -> str:
        """The base URL to configure, as for any OpenAI-compatible endpoint."""
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


class _ModelHandler(BaseHTTPRequestHandler):
    server: FakeModel

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append({"path": self.path, "body": body})
        content = self.server.answer(body)
        raw = json.dumps({"choices": [{"message": {"role": "assistant", "content": content}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def serving(answer: Answer) -> Iterator[FakeModel]:
    """A `FakeModel` serving on a free port until the block ends."""
    server = FakeModel(answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
