"""The dashboard behind Streamlit's OpenID Connect login, end to end: Chromium, a real local provider, real processes.

The provider is `oidc-provider-mock` (`python -m oidc_provider_mock`) on a free port of 127.0.0.1:
a real authorization-code flow, signed ID tokens, discovery and end-session, whose
sign-in form takes any subject (the claims of each are registered first). The dashboard is
`streamlit run app.py` on its shipped (loopback) address with an `[auth]` section pointing at it;
the hub runs in this process. The browser may reach nothing but 127.0.0.1 (the provider's pages
link a stylesheet from a CDN: that request is aborted).
"""

from __future__ import annotations

import re
import secrets
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Route, WebSocketRoute, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from streamlit.proto.BackMsg_pb2 import BackMsg

from tests.kit import web
from tests.kit.browser import BROWSER_MARKS, Dashboard, card, wait_until_woken_by_its_stream
from tests.kit.hubs import InProcessHub
from tests.kit.ports import free_port
from tests.kit.waits import wait_answering

pytestmark = BROWSER_MARKS
TOKEN = "login-test-token"
OPERATOR, OTHER = "ada@example.com", "bob@example.com"
TIMEOUT_MS = 20_000


class OidcProvider:
    """`python -m oidc_provider_mock` on a free loopback port; `add_user` registers a subject's claims."""

    def __init__(self, log_dir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_dir / f"oidc-{self.port}.log"
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "oidc_provider_mock", "--host", "127.0.0.1", "--port", str(self.port)],
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(self) -> None:
        discovery = f"{self.url}/.well-known/openid-configuration"
        wait_answering(self.process, discovery, self.log_path.read_text, timeout=30)

    def add_user(self, sub: str, **claims: Any) -> None:
        response = web.put(f"{self.url}/users/{quote(sub)}", json=claims, timeout=10)
        assert response.status_code == 204, response.text

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


def login_dashboard(hub_url: str, provider: OidcProvider, workdir: Path, port: int) -> Dashboard:
    """`streamlit run app.py` as shipped (loopback), with `[auth]` for `provider` and ada as the one operator."""
    url = f"http://127.0.0.1:{port}"
    secrets_file = workdir / "secrets.toml"
    secrets_file.write_text(
        "[auth]\n"
        f'redirect_uri = "{url}/oauth2callback"\n'
        f'cookie_secret = "{secrets.token_urlsafe(32)}"\n'
        'client_id = "agentchat-dashboard"\n'
        f'client_secret = "{secrets.token_urlsafe(16)}"\n'
        f'server_metadata_url = "{provider.url}/.well-known/openid-configuration"\n'
    )
    env = {"AGENTCHAT_GENERATE_TOKEN": TOKEN, "AGENTCHAT_OPERATOR_EMAILS": OPERATOR}
    return Dashboard(hub_url, workdir, port=port, env=env, args=("--secrets.files", str(secrets_file)))


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[InProcessHub, OidcProvider, Dashboard]]:
    workdir = tmp_path_factory.mktemp("login")
    provider = OidcProvider(workdir)
    port = free_port()
    hub = InProcessHub(
        f"sqlite:///{workdir / 'agentchat.db'}", heartbeat_seconds=2, generate_token=TOKEN, dashboard_port=port
    )
    hub.start()
    dashboard = login_dashboard(hub.url, provider, workdir, port)
    try:
        provider.wait_ready()
        provider.add_user("ada", email=OPERATOR, email_verified=True, name="Ada")
        provider.add_user("bob", email=OTHER, email_verified=True, name="Bob")
        dashboard.wait_healthy()
        yield hub, provider, dashboard
    finally:
        dashboard.stop()
        provider.stop()
        hub.stop()


def _loopback_only(route: Route) -> None:
    if urlsplit(route.request.url).hostname == "127.0.0.1":
        route.continue_()
    else:
        route.abort()


@pytest.fixture
def new_context(browser: Browser) -> Iterator[Callable[[], BrowserContext]]:
    """A fresh browser profile (cookies of its own) that reaches only 127.0.0.1; a JavaScript dialog fails the test."""
    contexts: list[BrowserContext] = []
    dialogs: list[str] = []

    def new() -> BrowserContext:
        context = browser.new_context(viewport={"width": 1600, "height": 1000})
        context.route("**/*", _loopback_only)
        context.on("page", lambda page: page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss())))
        contexts.append(context)
        return context

    yield new
    for context in contexts:
        context.close()
    assert dialogs == [], f"a script ran in the page: {dialogs}"


def sign_in(page: Page, dashboard: Dashboard, provider: OidcProvider, sub: str) -> None:
    """Sign-in button → the provider's form → back on the dashboard, signed in, its live area woken by its stream.

    Until the stream wakes it, the live page reruns by its one-second clock, and a click that lands while a
    rerun redraws the page can be lost before the browser sends it (`click_until_it_leads_to`)."""
    page.goto(dashboard.url)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{provider.url}/oauth2/authorize**", timeout=TIMEOUT_MS)
    page.get_by_placeholder("sub").fill(sub)
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(f"{dashboard.url}/**", timeout=TIMEOUT_MS)
    expect(page.get_by_text("Signed in as")).to_be_visible(timeout=TIMEOUT_MS)
    expect(page.get_by_text("🟢 Real-time (SSE)")).to_be_visible(timeout=TIMEOUT_MS)
    wait_until_woken_by_its_stream(page, TIMEOUT_MS)


def click_until_it_leads_to(page: Page, button: str, url: str, tries: int = 3) -> None:
    """Click `button` until the page goes to `url`. On a loaded machine a click that lands while Streamlit
    redraws the sidebar (the live page reruns every second) can be lost before the browser sends it;
    a person clicks again."""
    target = page.get_by_role("button", name=button)
    target.click()
    for attempt in range(1, tries + 1):
        try:
            page.wait_for_url(url, timeout=TIMEOUT_MS // tries)
            return
        except PlaywrightTimeoutError:
            if attempt == tries:
                raise
        if target.is_visible():  # still on the dashboard: the click was lost
            target.click()


def signed_in_as(email: str, role: str) -> re.Pattern[str]:
    """The sidebar's line; the page shows an address with a word joiner before its `@` (Markdown-escaped)."""
    name, domain = email.split("@")
    return re.compile(rf"^Signed in as {re.escape(name)}\W?@{re.escape(domain)} · {re.escape(role)}$")


def test_a_visitor_sees_only_the_sign_in(
    new_context: Callable[[], BrowserContext], stack: tuple[InProcessHub, OidcProvider, Dashboard]
) -> None:
    hub, _, dashboard = stack
    hub.generate(Authorization=f"Bearer {TOKEN}")
    page = new_context().new_page()
    for path in ("/", "/diagnostics"):
        page.goto(dashboard.url + path)
        expect(page.get_by_role("button", name="Sign in")).to_be_visible(timeout=TIMEOUT_MS)
        expect(page.get_by_test_id("stSidebar")).to_have_count(0)
        expect(page.get_by_test_id("stText")).to_have_count(0)  # no message
        expect(page.get_by_role("button", name="Generate messages")).to_have_count(0)
        expect(page.get_by_role("link", name="Diagnostics")).to_have_count(0)


def test_xsrf_protection_stays_on(
    new_context: Callable[[], BrowserContext], stack: tuple[InProcessHub, OidcProvider, Dashboard]
) -> None:
    context = new_context()
    page = context.new_page()
    page.goto(stack[2].url)
    expect(page.get_by_role("button", name="Sign in")).to_be_visible(timeout=TIMEOUT_MS)
    assert "_streamlit_xsrf" in {cookie["name"] for cookie in context.cookies()}


def test_an_operator_signs_in_generates_a_round_and_signs_out(
    new_context: Callable[[], BrowserContext], stack: tuple[InProcessHub, OidcProvider, Dashboard]
) -> None:
    hub, provider, dashboard = stack
    page = new_context().new_page()
    sign_in(page, dashboard, provider, "ada")
    expect(page.get_by_text(signed_in_as(OPERATOR, "operator"))).to_be_visible()
    before = hub.messages()["last_id"]
    page.get_by_role("button", name="Generate messages").click()
    expect(page.get_by_text("Generated 6 messages")).to_be_visible(timeout=TIMEOUT_MS)
    made = hub.messages(since_id=before)["messages"]
    assert len(made) == 6
    expect(card(page, made[-1])).to_contain_text(made[-1]["content"][:60], timeout=TIMEOUT_MS)

    click_until_it_leads_to(page, "Sign out", f"{provider.url}/oauth2/end_session**")  # the provider's session too
    page.get_by_role("button", name="End session").click()
    page.wait_for_url(f"{dashboard.url}/**", timeout=TIMEOUT_MS)
    expect(page.get_by_role("button", name="Sign in")).to_be_visible(timeout=TIMEOUT_MS)
    expect(page.get_by_test_id("stSidebar")).to_have_count(0)


def test_a_signed_in_non_operator_sees_the_chat_read_only_and_a_forged_generate_is_refused(
    new_context: Callable[[], BrowserContext], stack: tuple[InProcessHub, OidcProvider, Dashboard]
) -> None:
    """The forgery: the operator's own "Generate" message to the dashboard, replayed on the non-operator's socket.

    Streamlit runs the forged rerun (its widget states switch the layout to the operator's Timeline)
    but calls no callback for a button this session never drew; `access.permits`, the check where
    the round would be asked for, is the second wall (tests/test_dashboard_access.py forges past the first).
    """
    hub, provider, dashboard = stack

    operator = new_context().new_page()
    sent: list[bytes] = []
    operator.on("websocket", lambda ws: ws.on("framesent", lambda payload: sent.append(bytes(payload))))
    sign_in(operator, dashboard, provider, "ada")
    operator.get_by_text("Timeline", exact=True).click()
    expect(operator.get_by_role("radio", name="Timeline")).to_be_checked()
    sent.clear()
    operator.get_by_role("button", name="Generate messages").click()
    expect(operator.get_by_text("Generated 6 messages")).to_be_visible(timeout=TIMEOUT_MS)
    click = next(frame for frame in sent if _triggers_a_button(frame))

    reader_context = new_context()
    sockets: list[WebSocketRoute] = []

    def through(socket: WebSocketRoute) -> None:
        sockets.append(socket.connect_to_server())  # no handlers: everything passes both ways

    reader_context.route_web_socket(re.compile(r".*/_stcore/stream$"), through)
    reader = reader_context.new_page()
    sign_in(reader, dashboard, provider, "bob")
    expect(reader.get_by_text(signed_in_as(OTHER, "read-only"))).to_be_visible()
    newest = hub.messages()["messages"][-1]
    expect(card(reader, newest)).to_contain_text(newest["content"][:60], timeout=TIMEOUT_MS)  # the chat, live
    expect(reader.get_by_role("button", name="Generate messages")).to_have_count(0)
    reader.get_by_text("Tabs", exact=True).click()
    expect(reader.get_by_role("tab")).to_have_count(6, timeout=TIMEOUT_MS)

    before = hub.messages()["last_id"]
    sockets[-1].send(click)
    expect(reader.get_by_role("tab")).to_have_count(0, timeout=TIMEOUT_MS)  # the forged run ran: its Timeline
    expect(reader.get_by_text("Generated")).to_have_count(0)
    assert hub.messages(since_id=before)["messages"] == []

    reader.get_by_role("link", name="Diagnostics").click()
    expect(reader.get_by_text("Delivery latency")).to_be_visible(timeout=TIMEOUT_MS)
    expect(reader.get_by_role("button", name="Run connection test")).to_have_count(0)


def _triggers_a_button(frame: bytes) -> bool:
    """A BackMsg asking for a rerun with a button (trigger) pressed."""
    message = BackMsg()
    try:
        message.ParseFromString(frame)
    except Exception:  # not a protobuf frame
        return False
    states = message.rerun_script.widget_states.widgets if message.HasField("rerun_script") else []
    return any(state.WhichOneof("value") == "trigger_value" and state.trigger_value for state in states)
