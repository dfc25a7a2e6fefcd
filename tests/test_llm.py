"""The optional LLM generator, through a real hub process and a real local chat completions server.

`FakeLlm` is the one stand-in: an OpenAI-compatible endpoint on a free port that answers, fails or
hangs as a test tells it, and records what it was asked.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import unicodedata
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from agentchat.agents import BUILTIN_ROSTER
from agentchat.generator.llm import plain_text
from agentchat.market.round import MAX_ROUNDS_AT_MODEL
from agentchat.message import MAX_CONTENT_CHARS, MAX_CONTENT_JSON_BYTES
from tests.kit import web
from tests.kit.fake_llm import MODEL, FakeLlm, spoken_by
from tests.kit.hubs import InProcessHub, hub_env
from tests.kit.paths import ROOT
from tests.kit.waits import wait_until

API_KEY = "sk-test-key"
FAILURES = "agentchat_llm_failures_total"


@pytest.fixture
def fake_llm() -> Iterator[FakeLlm]:
    fake = FakeLlm()
    yield fake
    fake.close()


@pytest.fixture
def llm_hub(start_hub: Callable[..., InProcessHub], fake_llm: FakeLlm) -> Callable[..., InProcessHub]:
    """A hub whose generator talks to `fake_llm`."""

    def start(**settings: Any) -> InProcessHub:
        settings = {"llm_base_url": fake_llm.base_url, "llm_model": MODEL, "llm_api_key": API_KEY, **settings}
        return start_hub(**settings)

    return start


def test_llm_answer_becomes_the_text_while_meta_comes_from_the_simulation(
    llm_hub: Callable[..., InProcessHub],
) -> None:
    hub = llm_hub()
    made = hub.generate().json()["messages"]
    assert [message["content"] for message in made] == [spoken_by(agent.name) for agent in BUILTIN_ROSTER]
    for message in made:
        fill = {"quantity", "position_after"} if message["meta"]["side"] else set()
        assert set(message["meta"]) == {"symbol", "side", "price", "confidence", "reply_to", "writer"} | fill
        assert message["meta"]["writer"] == "llm"
        assert message["meta"]["symbol"] and message["meta"]["price"] > 0
    assert hub.metric(FAILURES) == 0


def test_llm_is_asked_with_model_key_persona_market_and_conversation(
    llm_hub: Callable[..., InProcessHub], fake_llm: FakeLlm
) -> None:
    hub = llm_hub()
    first = hub.generate().json()["messages"]
    fake_llm.requests.clear()
    second = hub.generate(["claude_arbitrage"]).json()["messages"][0]
    [asked] = fake_llm.requests
    assert asked.path == "/v1/chat/completions"
    assert asked.headers["authorization"] == f"Bearer {API_KEY}"
    assert asked.body["model"] == MODEL
    assert 0 < asked.body["max_tokens"] <= 300
    system, user = (entry["content"] for entry in asked.body["messages"])
    assert "Claude Arbitrage" in system and "arbitrage" in system
    assert second["meta"]["symbol"] in user
    assert "Recent conversation" in user
    assert first[-1]["content"] in user  # the other agents' latest words, to answer or not


@pytest.mark.parametrize("mode", ["status500", "not_json", "no_choices", "empty"])
def test_unusable_llm_answer_falls_back_to_offline_text_and_is_counted(
    llm_hub: Callable[..., InProcessHub], fake_llm: FakeLlm, mode: str
) -> None:
    fake_llm.mode, fake_llm.text = ("text", " \x00\u200b \n") if mode == "empty" else (mode, "")
    hub = llm_hub()
    made = hub.generate().json()["messages"]
    assert len(made) == len(BUILTIN_ROSTER)
    assert all(len(message["content"]) >= 40 for message in made)  # the offline writers' full sentences
    assert hub.metric(FAILURES) == len(BUILTIN_ROSTER)
    assert "LLM call for claude_arbitrage failed" in hub.log()


def test_an_llm_answer_over_the_byte_bound_is_not_read_and_the_offline_text_is_used(
    llm_hub: Callable[..., InProcessHub], fake_llm: FakeLlm
) -> None:
    fake_llm.mode = "huge"
    hub = llm_hub()
    made = hub.generate(["claude_arbitrage"]).json()["messages"]
    assert len(made[0]["content"]) < 500
    assert hub.metric(FAILURES) == 1
    assert "the answer is over 65536 bytes" in hub.log()


def test_llm_that_hangs_is_cut_off_at_the_timeout_and_the_offline_text_is_used(
    llm_hub: Callable[..., InProcessHub], fake_llm: FakeLlm
) -> None:
    fake_llm.mode = "hang"
    hub = llm_hub(llm_timeout_seconds=1)
    started = time.monotonic()
    response = hub.generate()  # its own ceiling: 30 s
    assert response.status_code == 201
    assert time.monotonic() - started < 120  # cut off at its timeout, not waited out: the LLM would hang 600 s
    assert all(message["content"] for message in response.json()["messages"])
    assert hub.metric(FAILURES) == len(BUILTIN_ROSTER)
    assert "no answer within 1 s" in hub.log()


def test_llm_answer_is_stored_as_one_capped_line_of_plain_text(
    llm_hub: Callable[..., InProcessHub], fake_llm: FakeLlm
) -> None:
    fake_llm.mode = "text"
    fake_llm.text = "<b>Long BTC</b> \x1b[31m**now**\u202e\n\n<script>alert(1)</script> " + "more words " * 100
    hub = llm_hub()
    content = hub.generate(["claude_arbitrage"]).json()["messages"][0]["content"]
    assert content.startswith("<b>Long BTC</b> [31m**now** <script>alert(1)</script> more words")
    assert content.endswith("…") and len(content) <= MAX_CONTENT_CHARS
    assert not [ch for ch in content if unicodedata.category(ch) in ("Cc", "Cf")]
    assert hub.messages()["messages"][0]["content"] == content
    assert hub.metric(FAILURES) == 0


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("  Short and calm.  ", "Short and calm."),
        ('"Quoted by the model."', "Quoted by the model."),
        ("“Curly quotes too.”", "Curly quotes too."),
        ("two\nlines\tand\r\nbreaks", "two lines and breaks"),
        ("bell\x07 null\x00 escape\x1b[0m", "bell null escape[0m"),
        ("right\u202eto\u200bleft", "righttoleft"),
        ("*markdown* stays `as` <i>text</i>", "*markdown* stays `as` <i>text</i>"),
        ("\x00\n\u200b", ""),
    ],
)
def test_plain_text_keeps_one_line_of_visible_characters(answer: str, expected: str) -> None:
    assert plain_text(answer) == expected


@pytest.mark.parametrize("answer", ["word " * 200, "加密" * 400, "🚀" * 400, '"quote" ' * 200])
def test_plain_text_fits_the_wire_budget_whatever_the_characters(answer: str) -> None:
    text = plain_text(answer)
    assert text.endswith("…")
    assert len(text) <= MAX_CONTENT_CHARS
    assert len(json.dumps(text, ensure_ascii=False).encode()) - 2 <= MAX_CONTENT_JSON_BYTES


def test_llm_endpoint_without_a_model_stops_the_hub_with_one_line(tmp_path: Path, fake_llm: FakeLlm) -> None:
    env = hub_env(f"sqlite:///{tmp_path / 'a.db'}", hub_port=0, llm_base_url=fake_llm.base_url)
    result = subprocess.run(
        [sys.executable, "-m", "agentchat", "hub"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("agentchat: AGENTCHAT_LLM_MODEL must be set")
    assert "Traceback" not in result.stderr


def test_llm_phrasing_of_a_round_the_market_moved_past_is_dropped_for_the_simulations_own_words(
    llm_hub: Callable[..., InProcessHub], start_hub: Callable[..., InProcessHub], fake_llm: FakeLlm
) -> None:
    """While the model phrases round 1, another hub on the store makes round 1: the phrased round is decided again."""
    fake_llm.mode = "gate"
    phrasing = llm_hub()
    plain = start_hub()  # the same SQLite file, no model
    answers: list[httpx.Response] = []
    asking = threading.Thread(target=lambda: answers.append(phrasing.generate(["claude_arbitrage"])))
    asking.start()
    wait_until(lambda: fake_llm.requests)
    plain.generate()
    fake_llm.release.set()
    asking.join(30)
    [message] = answers[0].json()["messages"]
    assert message["content"] != spoken_by("Claude Arbitrage")  # the offline text of the round it really is
    books = web.get(f"{phrasing.url}/api/agents/performance", timeout=10).json()
    assert books["round"] == 2 and books["round_agents"] == ["claude_arbitrage"]
    assert message["meta"]["price"] == books["prices"][message["meta"]["symbol"]]
    assert phrasing.metric(FAILURES) == 0


# -- a sick model: visible where operators look, and bounded ---------------------------------

CONCURRENT_ROUNDS = 45  # as in the report: every worker thread of the default pool, and more


def health(hub: InProcessHub) -> dict[str, Any]:
    response = web.get(f"{hub.url}/healthz", timeout=10)
    assert response.status_code == 200
    return dict(response.json())


def test_a_hub_without_a_model_says_its_generator_is_offline(hub: InProcessHub) -> None:
    assert health(hub)["generator"] == "offline"
    made = hub.generate().json()["messages"]
    assert {message["meta"]["writer"] for message in made} == {"offline"}


def test_a_model_refusing_the_key_shows_as_degraded_with_the_providers_words_and_recovers(
    llm_hub: Callable[..., InProcessHub], fake_llm: FakeLlm
) -> None:
    fake_llm.mode = "status401"
    hub = llm_hub()
    made = hub.generate(["claude_arbitrage"]).json()["messages"]
    assert made[0]["meta"]["writer"] == "offline"
    status = health(hub)["generator"]
    assert status.startswith("degraded: HTTP 401: Incorrect API key provided")
    assert API_KEY not in status and API_KEY not in hub.log()
    assert "Incorrect API key provided" in hub.log()
    fake_llm.mode = "answer"
    made = hub.generate(["claude_arbitrage"]).json()["messages"]
    assert made[0]["meta"]["writer"] == "llm"
    assert health(hub)["generator"] == "ok"


def test_a_hanging_model_neither_holds_healthz_nor_more_than_a_few_rounds(
    llm_hub: Callable[..., InProcessHub], fake_llm: FakeLlm
) -> None:
    fake_llm.mode = "gate"  # every call waits until the test releases it
    hub = llm_hub(llm_timeout_seconds=120, generate_per_minute=1000)
    answers: list[httpx.Response] = []
    lock = threading.Lock()

    def one_round() -> None:
        response = web.post(f"{hub.url}/api/chat/generate", json={"agents": ["claude_arbitrage"]}, timeout=120)
        with lock:
            answers.append(response)

    rounds = [threading.Thread(target=one_round) for _ in range(CONCURRENT_ROUNDS)]
    for thread in rounds:
        thread.start()
    try:
        # The rounds past the bound are written offline at once, while the model still holds the others.
        wait_until(lambda: len(answers) >= CONCURRENT_ROUNDS - MAX_ROUNDS_AT_MODEL, timeout=60)
        assert not fake_llm.release.is_set()
        assert health(hub)["database"] == "ok"  # the store's reads have threads of their own
        with lock:
            early = list(answers)
        assert all(response.status_code == 201 for response in early)
        assert {response.json()["messages"][0]["meta"]["writer"] for response in early} == {"offline"}
        assert "the model is busy" in health(hub)["generator"]
    finally:
        fake_llm.release.set()
        for thread in rounds:
            thread.join(120)
    assert len(answers) == CONCURRENT_ROUNDS
    assert len(fake_llm.requests) <= MAX_ROUNDS_AT_MODEL
    writers = [response.json()["messages"][0]["meta"]["writer"] for response in answers]
    assert writers.count("offline") >= CONCURRENT_ROUNDS - MAX_ROUNDS_AT_MODEL
