"""Operators see a sick model on the dashboard: a notice on the live page and on Diagnostics while rounds
use the offline text. The model is `FakeLlm` (a real chat completions endpoint on a free port) refusing the key."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from agentchat.dashboard.formatting import model_notice
from tests.kit.dashboard_app import DIAGNOSTICS, open_dashboard
from tests.kit.fake_llm import MODEL, FakeLlm
from tests.kit.hubs import InProcessHub

pytestmark = pytest.mark.usefixtures("dashboard_env")  # tests/conftest.py: the dashboard's clean environment


@pytest.fixture
def refusing_model() -> Iterator[FakeLlm]:
    fake = FakeLlm(mode="status401")
    yield fake
    fake.close()


def warnings(at: object) -> list[str]:
    return [element.value for element in at.warning]  # type: ignore[attr-defined]


def test_the_live_page_and_diagnostics_say_the_model_is_not_writing(
    monkeypatch: pytest.MonkeyPatch, start_hub: Callable[..., InProcessHub], refusing_model: FakeLlm
) -> None:
    hub = start_hub(llm_base_url=refusing_model.base_url, llm_model=MODEL, llm_api_key="sk-test-key")
    hub.generate(["claude_arbitrage"])
    at = open_dashboard(monkeypatch, hub.url)
    assert not at.exception
    [notice] = [text for text in warnings(at) if "model is not writing" in text]
    assert "Incorrect API key provided" in notice
    at.switch_page(DIAGNOSTICS).run()
    assert not at.exception
    assert any("model is not writing" in text for text in warnings(at))


def test_no_notice_while_the_model_writes_or_none_is_set() -> None:
    assert model_notice("ok") is None
    assert model_notice("offline") is None
    assert model_notice(None) is None
    notice = model_notice("degraded: HTTP 500: *overloaded*")
    assert notice is not None and "\\*overloaded\\*" in notice  # the provider's words are never Markdown
