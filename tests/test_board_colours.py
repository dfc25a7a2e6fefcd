"""The live chat element is readable: at least 4.5:1 (WCAG AA) for its coloured text, in both themes.

Agent names are drawn in `board.readable(colour, theme)`; kind badges and small print in the board's
palettes (`agentchat/dashboard/board.css`), read here from the stylesheet the element ships. The
contrast is computed here from the WCAG formula, not taken from the module under test.
"""

from __future__ import annotations

import re
from importlib import resources

import pytest

from agentchat.agents import BUILTIN_ROSTER, Agent
from agentchat.dashboard.board import CARD_BACKGROUNDS, readable

THEMES = ("light", "dark")


def luminance(color: str) -> float:
    def linear(part: str) -> float:
        channel = int(part, 16) / 255
        return channel / 12.92 if channel <= 0.03928 else ((channel + 0.055) / 1.055) ** 2.4

    red, green, blue = (linear(color[index : index + 2]) for index in (1, 3, 5))
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def ratio(one: str, other: str) -> float:
    high, low = sorted((luminance(one), luminance(other)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def blend(color: str, background: str, share: float) -> str:
    """`share` of `color` over `background`, as `color-mix(in srgb, color share, transparent)` is drawn."""
    parts = (round(share * int(color[i : i + 2], 16) + (1 - share) * int(background[i : i + 2], 16)) for i in (1, 3, 5))
    return "#" + "".join(f"{part:02x}" for part in parts)


def palette(theme: str) -> dict[str, str]:
    css = resources.files("agentchat.dashboard").joinpath("board.css").read_text(encoding="utf-8")
    block = re.search(r'\.board\[data-theme="' + theme + r'"\][^{]*\{(.*?)\}', css, re.S)
    assert block, f"no {theme} palette in board.css"
    return dict(re.findall(r"--([a-z]+):\s*(#[0-9a-fA-F]{6})", block.group(1)))


def test_the_old_pale_colours_were_unreadable() -> None:
    """Why names are not drawn in the roster's own colour: GPT-4 Momentum's is 1.9:1 on white."""
    momentum = next(agent for agent in BUILTIN_ROSTER if agent.name == "GPT-4 Momentum")
    assert ratio(momentum.color, CARD_BACKGROUNDS["light"]) < 2


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("agent", BUILTIN_ROSTER, ids=[agent.id for agent in BUILTIN_ROSTER])
def test_every_agents_name_is_readable_on_the_card(agent: Agent, theme: str) -> None:
    color = readable(agent.color, theme)
    assert ratio(color, CARD_BACKGROUNDS[theme]) >= 4.5


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("color", ["#FFFF00", "#000000", "#FFFFFF", "#808080", "#00FF00", "#1E90FF"])
def test_any_roster_colour_gets_a_readable_shade(color: str, theme: str) -> None:
    assert ratio(readable(color, theme), CARD_BACKGROUNDS[theme]) >= 4.5


@pytest.mark.parametrize("theme", THEMES)
def test_kind_badges_and_small_print_are_readable_on_the_card_and_on_their_tint(theme: str) -> None:
    colours = palette(theme)
    assert set(colours) >= {"muted", "analysis", "trade", "reply", "alert"}
    card = CARD_BACKGROUNDS[theme]
    for name, color in colours.items():
        assert ratio(color, card) >= 4.5, (theme, name, color)
        if name != "muted":  # a badge: its kind's colour over 15 % of itself (agentchat.css `.badge`)
            assert ratio(color, blend(color, card, 0.15)) >= 4.5, (theme, name, color)
