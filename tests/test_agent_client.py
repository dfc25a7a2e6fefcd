"""`AgentClient` and `agentchat agent-example` against a real hub.

The model is a tiny OpenAI-compatible server of the tests (`tests/kit/fake_model.py`): it answers
`/chat/completions` with a fixed decision and keeps what it was asked. A lost answer is made by a
small TCP relay in front of the hub that forwards the first request and then hangs up without
passing the answer back: the client must try again with the same `Idempotency-Key`, and the hub
must publish once.
"""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from agentchat import AgentClient
from agentchat.errors import BadRequest, Unauthorized
from tests.kit import web
from tests.kit.fake_model import FakeModel, serving
from tests.kit.hubs import InProcessHub, hub_env
from tests.kit.market_calls import book
from tests.kit.paths import ROOT
from tests.kit.ports import free_port
from tests.kit.roster import TOKENS, roster_file

StartHub = Callable[..., InProcessHub]
DECISION = {
    "action": "buy",
    "symbol": "SOL",
    "quantity": 5,
    "message": "SOL reclaiming its range high, buying 5.",
    "reasoning": "<b>momentum</b> and flow both positive",
}


@pytest.fixture
def model() -> Iterator[FakeModel]:
    with serving(lambda body: json.dumps(DECISION)) as server:
        yield server


def test_the_example_agent_runs_one_decision_from_the_model_to_the_feed(
    start_hub: StartHub, tmp_path: Path, model: FakeModel
) -> None:
    hub = start_hub(agents_file=roster_file(tmp_path))
    assert hub.generate().status_code == 201
    env = hub_env(hub.settings.database_url, agent_token=TOKENS["alpha"])
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "agentchat",
            "agent-example",
            "--hub",
            hub.url,
            "--agent-id",
            "alpha",
            "--llm-base-url",
            model.url,
            "--llm-model",
            "test-model",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    message = json.loads(done.stdout.strip().splitlines()[-1])
    assert message["content"] == DECISION["message"] and message["kind"] == "trade"
    assert message["meta"]["symbol"] == "SOL" and message["meta"]["quantity"] == 5
    assert message["details"]["reasoning"] == DECISION["reasoning"]
    assert message["details"]["decision"] == {"action": "buy", "symbol": "SOL", "quantity": 5.0}
    (asked,) = model.requests
    assert asked["path"] == "/v1/chat/completions" and asked["body"]["model"] == "test-model"
    assert "SOL" in asked["body"]["messages"][-1]["content"]  # the market it decided from
    assert book(hub, "alpha")["positions"][0] == {**book(hub, "alpha")["positions"][0], "symbol": "SOL", "quantity": 5}


class LosingRelay:
    """TCP relay to `target`: the first request reaches it, its answer is dropped; later ones pass."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.connections = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._relay, args=(client, self.connections == 1), daemon=True).start()

    def _relay(self, client: socket.socket, lose_answer: bool) -> None:
        upstream = socket.create_connection(("127.0.0.1", self.target_port))
        threading.Thread(target=self._pipe, args=(client, upstream), daemon=True).start()
        if lose_answer:
            upstream.recv(65536)  # the hub answered: the request was handled
            for end in (client, upstream):  # wakes the other direction's pipe, which closes both (maybe first)
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)
            return
        self._pipe(upstream, client)

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)
                end.close()

    def close(self) -> None:
        self.listener.close()


def test_a_lost_answer_is_retried_with_the_same_key_and_published_once(start_hub: StartHub, tmp_path: Path) -> None:
    hub = start_hub(agents_file=roster_file(tmp_path))
    relay = LosingRelay(hub.port)
    try:
        with AgentClient(f"http://127.0.0.1:{relay.port}", "alpha", TOKENS["alpha"], retry_seconds=20) as client:
            message = client.post("buying 1 BTC", kind="trade", order={"symbol": "BTC", "side": "buy", "quantity": 1})
    finally:
        relay.close()
    assert relay.connections >= 2  # the first answer was lost, the client came back
    assert [m["id"] for m in hub.messages()["messages"]] == [message["id"]]
    assert book(hub, "alpha")["positions"][0]["quantity"] == 1 and book(hub, "alpha")["trades"] == 1


def test_the_client_waits_for_a_hub_that_is_not_up_yet_and_raises_refusals(start_hub: StartHub, tmp_path: Path) -> None:
    port = free_port()
    client = AgentClient(f"http://127.0.0.1:{port}", "alpha", TOKENS["alpha"], retry_seconds=30)
    answers: list[Any] = []
    waiting = threading.Thread(target=lambda: answers.append(client.market()))
    waiting.start()
    hub = start_hub(port=port, agents_file=roster_file(tmp_path))
    waiting.join(40)
    assert answers and answers[0]["symbols"]
    with pytest.raises(BadRequest, match="unknown symbol"):
        client.post("x", order={"symbol": "NOPE", "side": "buy", "quantity": 1})
    with AgentClient(hub.url, "alpha", "wrong-token") as stranger, pytest.raises(Unauthorized):
        stranger.post("hello")
    client.close()
    assert web.get(f"{hub.url}/api/chat/messages", timeout=10).json()["messages"] == []
