"""`FakeLlm`: an OpenAI-compatible chat completions endpoint in a thread, answering, failing or hanging
as a test tells it and recording what it was asked (tests/test_llm.py, the viewer and the model notice).
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["MODEL", "FakeLlm", "Recorded", "spoken_by"]

MODEL = "test-model"
PERSONA = re.compile(r"You are (.+?), an autonomous AI trading agent")


def spoken_by(name: str) -> str:
    return f"{name} here: the tape agrees with me, sizing stays as planned."


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class FakeLlm:
    """A chat completions endpoint in a thread. `mode`: answer, text, status500, not_json, no_choices, hang, gate.

    `gate` answers like `answer`, once `release` is set.
    """

    mode: str = "answer"
    text: str = ""
    requests: list[Recorded] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append(Recorded(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                fake.respond(self, body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def respond(self, handler: BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
        if self.mode == "hang":
            self.release.wait(600)
            return
        if self.mode == "gate":
            self.release.wait(30)
        if self.mode == "status401":  # as OpenAI answers a wrong key, echoing it
            self.send(handler, 401, b'{"error": {"message": "Incorrect API key provided: sk-test-key."}}')
            return
        if self.mode == "status500":
            self.send(handler, 500, b'{"error": {"message": "model overloaded"}}')
            return
        if self.mode == "not_json":
            self.send(handler, 200, b"<html>gateway says hello</html>")
            return
        if self.mode == "no_choices":
            self.send(handler, 200, b'{"choices": []}')
            return
        if self.mode == "huge":  # 10 MB of one answer
            content = "x" * (10 * 1024 * 1024)
            self.send(handler, 200, json.dumps({"choices": [{"message": {"content": content}}]}).encode())
            return
        found = PERSONA.search(body["messages"][0]["content"])
        content = spoken_by(found.group(1) if found else "?") if self.mode in ("answer", "gate") else self.text
        answer = {
            "object": "chat.completion",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}}],
        }
        self.send(handler, 200, json.dumps(answer).encode())

    @staticmethod
    def send(handler: BaseHTTPRequestHandler, status: int, payload: bytes) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(10)
