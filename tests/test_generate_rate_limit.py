"""POST /api/chat/generate is bounded: at most AGENTCHAT_GENERATE_PER_MINUTE rounds in any minute per hub.

The hub runs for real on a free port. Where a test needs the minute to pass, it steps the limit's
clock (the one true edge here) instead of sleeping for it.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from agentchat.errors import ConfigError, RateLimited
from agentchat.hub.ratelimit import SlidingWindowLimit
from agentchat.settings import load_settings
from tests.kit import web
from tests.kit.hubs import InProcessHub

TOKEN = "rate-limit-token"


class SteppedClock:
    """A monotonic clock that moves only when told to."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def limited_hub(start_hub: Callable[..., InProcessHub], per_minute: int, **settings: object) -> InProcessHub:
    return start_hub(generate_per_minute=per_minute, **settings)


def status_count(hub: InProcessHub, status: int) -> float:
    text = web.get(f"{hub.url}/metrics", timeout=10).text
    line = f'agentchat_generate_requests_total{{status="{status}"}} '
    return next((float(row.rsplit(" ", 1)[1]) for row in text.splitlines() if row.startswith(line)), 0.0)


def test_a_burst_past_the_limit_gets_429_with_retry_after_and_the_json_error(
    start_hub: Callable[..., InProcessHub],
) -> None:
    hub = limited_hub(start_hub, 3)
    assert [hub.generate(["claude_arbitrage"]).status_code for _ in range(3)] == [201, 201, 201]
    refused = hub.generate(["claude_arbitrage"])
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/json"
    assert refused.json()["error"] == "rate_limited"
    assert "at most 3 in 60 s" in refused.json()["detail"]
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert len(hub.messages()["messages"]) == 3  # the refused request generated nothing


def test_a_request_once_the_oldest_round_has_left_the_window_succeeds(start_hub: Callable[..., InProcessHub]) -> None:
    hub = limited_hub(start_hub, 2)
    assert hub.app is not None
    clock = SteppedClock()
    hub.app.hub.generate_limit.clock = clock
    assert hub.generate().status_code == 201
    clock.advance(20)
    assert hub.generate().status_code == 201
    refused = hub.generate()
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "40"  # the first round leaves the window 60 s after it came
    clock.advance(int(refused.headers["retry-after"]))
    assert hub.generate().status_code == 201
    assert hub.generate().status_code == 429  # the second round (20 s in) is still inside


def test_replays_of_a_known_idempotency_key_are_not_counted(start_hub: Callable[..., InProcessHub]) -> None:
    hub = limited_hub(start_hub, 2)
    first = hub.generate(**{"Idempotency-Key": "round-1"})
    assert first.status_code == 201
    for _ in range(5):
        replay = hub.generate(**{"Idempotency-Key": "round-1"})
        assert replay.status_code == 201
        assert replay.headers["idempotent-replayed"] == "true"
    assert hub.generate(**{"Idempotency-Key": "round-2"}).status_code == 201
    assert hub.generate(**{"Idempotency-Key": "round-3"}).status_code == 429
    assert hub.generate(**{"Idempotency-Key": "round-1"}).status_code == 201  # a replay still answers when limited


def test_refused_rounds_are_counted_in_metrics_by_status(start_hub: Callable[..., InProcessHub]) -> None:
    hub = limited_hub(start_hub, 1)
    for _ in range(4):
        hub.generate(["grok_sentiment"])
    assert status_count(hub, 201) == 1
    assert status_count(hub, 429) == 3


def test_requests_without_the_token_do_not_spend_the_budget(start_hub: Callable[..., InProcessHub]) -> None:
    hub = limited_hub(start_hub, 1, generate_token=TOKEN)
    assert [hub.generate().status_code for _ in range(3)] == [401, 401, 401]
    assert hub.generate(Authorization=f"Bearer {TOKEN}").status_code == 201


def test_the_default_allows_sixty_rounds_a_minute() -> None:
    assert load_settings(_env_file=None).generate_per_minute == 60


@pytest.mark.parametrize("value", ["0", "-5", "many"])
def test_a_bad_limit_stops_the_process_with_a_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("AGENTCHAT_GENERATE_PER_MINUTE", value)
    with pytest.raises(ConfigError, match=r"^AGENTCHAT_GENERATE_PER_MINUTE: "):
        load_settings(_env_file=None)


@pytest.mark.parametrize("limit", [1, 3, 10])
def test_no_window_of_the_sliding_log_ever_holds_more_than_the_limit(limit: int) -> None:
    clock = SteppedClock(0.0)
    window = SlidingWindowLimit(limit, window_seconds=60.0, clock=clock)
    admitted: list[float] = []
    for _ in range(600):  # one attempt every 0.5 s for five minutes
        try:
            window.acquire("rounds")
            admitted.append(clock.now)
        except RateLimited as refused:
            assert refused.retry_after_seconds is not None and refused.retry_after_seconds >= 1
        clock.advance(0.5)
    for start in admitted:
        assert len([moment for moment in admitted if start <= moment < start + 60]) <= limit
    assert len(admitted) == limit * 5  # and the limit is reached in each of the five minutes


def test_retry_after_is_the_wait_until_the_oldest_event_leaves_rounded_up() -> None:
    clock = SteppedClock(0.0)
    window = SlidingWindowLimit(1, window_seconds=60.0, clock=clock)
    window.acquire("rounds")
    clock.advance(30.25)
    with pytest.raises(RateLimited) as refused:
        window.acquire("rounds")
    assert refused.value.retry_after_seconds == 30
    assert refused.value.headers() == {"Retry-After": "30"}
    clock.advance(29.75)
    window.acquire("rounds")  # exactly 60 s after the first: the first has left
