"""Who sees the dashboard and who may act on it, in Streamlit's AppTest against real hubs.

`AppTest.user` stands for what Streamlit's login puts in `st.user` (the browser tests in
tests/test_login.py sign in for real, against a local OpenID Connect provider), and
`server.address` is set as `streamlit run` would bind it. The pure decision (`decide`) is tested
as a table.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from streamlit import config as streamlit_config
from streamlit.testing.v1 import AppTest

from agentchat.dashboard.access import Access, Gate, configure_login_line, decide, is_loopback
from agentchat.dashboard.formatting import escape_markdown
from tests.kit.apptest import board_texts
from tests.kit.dashboard_config import shipped_dashboard_address
from tests.kit.hubs import InProcessHub
from tests.kit.paths import ROOT

APP = ROOT / "app.py"
DIAGNOSTICS = "pages/1_Diagnostics.py"
OPERATOR = "ada@example.com"
OPERATORS = frozenset({OPERATOR})
GENERATE_REQUESTED = "_agentchat_generate_requested"  # what the Generate button's callback sets
CHECK_REQUESTED = "_agentchat_check_requested"  # what the Run connection test button's callback sets


pytestmark = pytest.mark.usefixtures("dashboard_env")  # tests/conftest.py: the dashboard's clean environment


def open_dashboard(
    monkeypatch: pytest.MonkeyPatch,
    hub_url: str,
    *,
    user: dict[str, Any] | None = None,
    address: str | None = None,
    state: dict[str, Any] | None = None,
    script: Path = APP,
    **settings: str,
) -> AppTest:
    """The dashboard for `user` (`st.user`; the default: no login configured) bound to `address` (default: shipped)."""
    monkeypatch.setenv("AGENTCHAT_HUB_URL", hub_url)
    monkeypatch.setenv("AGENTCHAT_OPERATOR_EMAILS", OPERATOR)
    for key, value in settings.items():
        monkeypatch.setenv(f"AGENTCHAT_{key.upper()}", value)
    streamlit_config.set_option("server.address", address if address is not None else shipped_dashboard_address())
    at = AppTest.from_file(script, default_timeout=20)
    at.user = user if user is not None else {}
    for key, value in (state or {}).items():
        at.session_state[key] = value
    return at.run()


def signed_in(email: str, **claims: Any) -> dict[str, Any]:
    return {"is_logged_in": True, "email": email, "email_verified": True, "name": email.split("@")[0], **claims}


def buttons(at: AppTest) -> list[str]:
    return [button.label for button in at.button]


def everything_drawn(at: AppTest) -> list[str]:
    """The type of every element on the page and in the sidebar (containers aside)."""
    kinds: list[str] = []

    def walk(node: Any) -> None:
        children = getattr(node, "children", None)
        if isinstance(children, dict) and children:
            for child in children.values():
                walk(child)
        elif children is None or not isinstance(children, dict):
            kinds.append(node.type)

    walk(at.main)
    walk(at.sidebar)
    return kinds


# -- the decision, as a table ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("localhost", True),
        ("::1", True),
        ("[::1]", True),
        (None, False),  # unset: Streamlit listens on every interface
        ("", False),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.20", False),
        ("dashboard.example.com", False),
        ("unix:///run/agentchat/dashboard.sock", False),  # behind a reverse proxy: published
    ],
)
def test_only_loopback_addresses_count_as_this_machine_only(address: str | None, loopback: bool) -> None:
    assert is_loopback(address) is loopback


@pytest.mark.parametrize(
    ("user", "address", "expected"),
    [
        ({}, "127.0.0.1", Access(operator=True)),
        ({}, "0.0.0.0", Gate.CONFIGURE_LOGIN),
        ({}, None, Gate.CONFIGURE_LOGIN),
        ({"email": OPERATOR}, "0.0.0.0", Gate.CONFIGURE_LOGIN),  # an e-mail alone is not a login
        ({"is_logged_in": False}, "127.0.0.1", Gate.SIGN_IN),  # a configured login holds on loopback too
        ({"is_logged_in": False}, "0.0.0.0", Gate.SIGN_IN),
        ({"is_logged_in": "true", "email": OPERATOR}, "0.0.0.0", Gate.SIGN_IN),  # only True is signed in
        (signed_in(OPERATOR), "0.0.0.0", Access(operator=True, email=OPERATOR, signed_in=True)),
        (signed_in("Ada@Example.COM"), "0.0.0.0", Access(operator=True, email="Ada@Example.COM", signed_in=True)),
        (signed_in("bob@example.com"), "0.0.0.0", Access(operator=False, email="bob@example.com", signed_in=True)),
        (signed_in(OPERATOR, email_verified=False), "0.0.0.0", Access(False, OPERATOR, True)),
        (signed_in(OPERATOR, email_verified="false"), "0.0.0.0", Access(False, OPERATOR, True)),
        ({"is_logged_in": True, "email": OPERATOR}, "0.0.0.0", Access(False, OPERATOR, True)),  # no claim: unverified
        (signed_in(OPERATOR, email_verified="False"), "0.0.0.0", Access(False, OPERATOR, True)),
        (signed_in(OPERATOR, email_verified="true"), "0.0.0.0", Access(False, OPERATOR, True)),  # only JSON true
        ({"is_logged_in": True, "sub": "ada"}, "0.0.0.0", Access(operator=False, email=None, signed_in=True)),
    ],
)
def test_who_may_see_and_act(user: dict[str, Any], address: str | None, expected: Access | Gate) -> None:
    assert decide(user, address, OPERATORS) == expected


@pytest.mark.parametrize(
    ("host", "origin", "operator"),
    [
        ("127.0.0.1:8501", "http://127.0.0.1:8501", True),
        ("localhost:8501", "http://localhost:8501", True),
        ("[::1]:8501", "http://[::1]:8501", True),
        ("127.0.0.1:8501", None, True),
        (None, None, True),  # no request at all (a script run without a network)
        ("attacker.example:8501", "http://attacker.example:8501", False),  # DNS rebinding
        ("127.0.0.1:8501", "http://attacker.example:8501", False),  # another site's page
        ("localhost:8501", "http://127.0.0.1:8501", False),  # not same-origin
        ("127.0.0.1.attacker.example:8501", "http://127.0.0.1.attacker.example:8501", False),
    ],
)
def test_the_loopback_operator_rule_holds_only_for_a_loopback_host_and_a_same_origin_origin(
    host: str | None, origin: str | None, operator: bool
) -> None:
    assert decide({}, "127.0.0.1", OPERATORS, host, origin) == Access(operator=operator)


def test_with_an_empty_allow_list_every_signed_in_user_is_read_only() -> None:
    assert decide(signed_in(OPERATOR), "0.0.0.0", frozenset()) == Access(False, OPERATOR, True)


# -- the pages ---------------------------------------------------------------------------------------


def test_on_loopback_without_a_login_the_dashboard_is_the_operators_as_before(
    monkeypatch: pytest.MonkeyPatch, hub: InProcessHub
) -> None:
    at = open_dashboard(monkeypatch, hub.url)
    assert not at.exception
    assert "Generate messages" in buttons(at)
    assert "Sign out" not in buttons(at)


@pytest.mark.parametrize("address", ["0.0.0.0", ""])
def test_beyond_loopback_without_a_login_one_line_says_what_to_configure_and_nothing_else(
    monkeypatch: pytest.MonkeyPatch, hub: InProcessHub, address: str
) -> None:
    at = open_dashboard(monkeypatch, hub.url, address=address)
    assert not at.exception
    assert everything_drawn(at) == ["error"]
    line = at.error[0].value
    assert line == configure_login_line(address or None)
    assert "\n" not in line
    assert "[auth]" in line and ".streamlit/secrets.toml" in line and "AGENTCHAT_OPERATOR_EMAILS" in line
    assert hub.messages()["messages"] == []
    assert hub.app is not None and len(hub.app.hub.fanout) == 0  # no feed was opened to the hub


def test_a_visitor_sees_the_sign_in_and_nothing_of_the_chat(monkeypatch: pytest.MonkeyPatch, hub: InProcessHub) -> None:
    hub.generate()
    at = open_dashboard(monkeypatch, hub.url, user={"is_logged_in": False}, address="0.0.0.0")
    assert not at.exception
    assert buttons(at) == ["Sign in"]
    assert at.text.len == 0  # no message
    assert at.sidebar.children == {}
    assert hub.app is not None and len(hub.app.hub.fanout) == 0


def test_a_visitor_on_the_diagnostics_page_sees_the_sign_in_too(
    monkeypatch: pytest.MonkeyPatch, hub: InProcessHub
) -> None:
    visitor = {"is_logged_in": False}
    at = open_dashboard(monkeypatch, hub.url, user=visitor, address="0.0.0.0", script=ROOT / DIAGNOSTICS)
    assert buttons(at) == ["Sign in"]
    assert at.title.len == 0


def test_sign_in_with_an_incomplete_login_setup_says_so_in_one_line(
    monkeypatch: pytest.MonkeyPatch, hub: InProcessHub
) -> None:
    at = open_dashboard(monkeypatch, hub.url, user={"is_logged_in": False}, address="0.0.0.0")
    at.button[0].click().run()
    assert not at.exception
    assert buttons(at) == ["Sign in"]
    assert at.error[0].value.startswith("Sign-in is not configured correctly: ")
    assert "configure credentials for at least one authentication provider" in at.error[0].value  # Streamlit's reason


def test_an_operator_signed_in_generates_a_round(monkeypatch: pytest.MonkeyPatch, hub: InProcessHub) -> None:
    at = open_dashboard(monkeypatch, hub.url, user=signed_in(OPERATOR), address="0.0.0.0")
    assert not at.exception
    assert {"Generate messages", "Sign out"} <= set(buttons(at))
    assert any("Signed in as ada" in caption.value and "operator" in caption.value for caption in at.sidebar.caption)
    next(button for button in at.button if button.label == "Generate messages").click().run()
    assert [toast.value for toast in at.toast] == ["Generated 6 messages"]
    assert len(hub.messages()["messages"]) == 6


def test_a_signed_in_non_operator_sees_the_chat_without_generate(
    monkeypatch: pytest.MonkeyPatch, hub: InProcessHub
) -> None:
    made = hub.generate().json()["messages"]
    at = open_dashboard(monkeypatch, hub.url, user=signed_in("bob@example.com"), address="0.0.0.0")
    assert not at.exception
    assert "Generate messages" not in buttons(at)
    assert "Sign out" in buttons(at)
    assert sorted(board_texts(at)) == sorted(message["content"] for message in made)
    assert any("read-only" in caption.value for caption in at.sidebar.caption)


@pytest.mark.parametrize(
    ("email", "hint"), [(OPERATOR, "Press **Generate messages**"), ("bob@example.com", "next round")]
)
def test_the_empty_pages_hint_fits_the_users_rights(
    monkeypatch: pytest.MonkeyPatch, hub: InProcessHub, email: str, hint: str
) -> None:
    at = open_dashboard(monkeypatch, hub.url, user=signed_in(email), address="0.0.0.0")
    assert not at.exception
    waiting = [info.value for info in at.info if "Waiting for agent messages" in info.value]
    assert len(waiting) == 1 and hint in waiting[0]
    assert ("Generate" in waiting[0]) == (email == OPERATOR)


def test_a_forged_generate_request_from_a_non_operator_is_refused_by_the_server_side(
    monkeypatch: pytest.MonkeyPatch, hub: InProcessHub
) -> None:
    at = open_dashboard(
        monkeypatch, hub.url, user=signed_in("bob@example.com"), address="0.0.0.0", state={GENERATE_REQUESTED: True}
    )
    assert not at.exception
    who = escape_markdown("bob@example.com")
    assert at.error[0].value == f"Refused: Generate messages is for operators only; {who} is read-only."
    assert hub.messages()["messages"] == []


def test_the_diagnostics_page_offers_no_connection_test_to_a_non_operator_and_refuses_a_forged_one(
    monkeypatch: pytest.MonkeyPatch, hub: InProcessHub
) -> None:
    user = signed_in("bob@example.com")
    at = open_dashboard(monkeypatch, hub.url, user=user, address="0.0.0.0", script=ROOT / DIAGNOSTICS)
    assert not at.exception
    assert "Run connection test" not in buttons(at)
    at.session_state[CHECK_REQUESTED] = True
    at.run()
    assert any(error.value.startswith("Refused: the connection test is for operators only") for error in at.error)
    assert at.table.len == 1  # the hub's health only: no table of checks
    assert hub.messages()["messages"] == []  # the test would have generated a round


def test_a_rate_limited_generate_shows_a_readable_line_with_the_wait(
    monkeypatch: pytest.MonkeyPatch, start_hub: Callable[..., InProcessHub]
) -> None:
    hub = start_hub(heartbeat_seconds=0.5, generate_per_minute=1)
    at = open_dashboard(monkeypatch, hub.url)
    next(button for button in at.button if button.label == "Generate messages").click().run()
    next(button for button in at.button if button.label == "Generate messages").click().run()
    assert not at.exception
    error = at.sidebar.error[0].value
    assert error.startswith("Generate failed: the hub at ")
    assert "HTTP 429 rate_limited" in error
    assert "at most 1 in 60 s" in error
    assert "try again in " in error
    assert "\n" not in error
