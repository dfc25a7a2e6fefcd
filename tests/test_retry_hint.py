"""`RetryHint`: the `retry:` lines a hub sends, one value per connection within the configured range."""

from __future__ import annotations

import pytest

from agentchat.hub.retry import MAX_DISTINCT_VALUES, RetryHint


def values(hint: RetryHint, draws: int = 2000) -> list[int]:
    return [int(hint.line().removeprefix(b"retry: ").removesuffix(b"\n")) for _ in range(draws)]


def test_drawn_values_stay_within_the_range_and_vary() -> None:
    drawn = values(RetryHint(1000, 2500))
    assert min(drawn) >= 1000 and max(drawn) <= 2500
    assert len(set(drawn)) > 100


def test_both_ends_of_the_range_can_be_drawn() -> None:
    hint = RetryHint(1000, 1002)
    assert set(values(hint)) == {1000, 1001, 1002}


def test_a_range_of_one_value_always_sends_it() -> None:
    assert set(values(RetryHint(3000, 3000), 50)) == {3000}


def test_a_wide_range_keeps_a_bounded_set_of_encoded_lines() -> None:
    hint = RetryHint(100, 600_000)
    assert len(hint.lines) <= MAX_DISTINCT_VALUES
    assert hint.lines[0] == b"retry: 100\n" and hint.lines[-1] == b"retry: 600000\n"


def test_a_reversed_range_is_refused() -> None:
    with pytest.raises(ValueError):
        RetryHint(2000, 1000)
