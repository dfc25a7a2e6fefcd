"""Who may look at the dashboard, and who may act on it: Streamlit's login and the operators' allow-list.

The dashboard holds the hub's generate token, so whoever can reach it can spend rounds (and an
LLM's quota) with it. Three cases, decided at the top of every script run (`require_access`):

- **A login is configured** (`[auth]` in `.streamlit/secrets.toml`: Streamlit's own OpenID Connect
  login, `st.login()` / `st.user` / `st.logout()`): a visitor who has not signed in sees the
  sign-in and nothing else; a signed-in user whose e-mail is in `AGENTCHAT_OPERATOR_EMAILS` is an
  operator; anyone else signed in sees the chat read-only. This holds on any address.
- **No login, loopback address** (the default, `server.address = "127.0.0.1"` in the shipped
  `.streamlit/config.toml`): whoever reaches it is on this machine, and is an operator, as before,
  provided the session's own request says so too: its `Host` is a loopback name and its `Origin`
  (when sent) is that same host. A page on `attacker.example` whose name is re-pointed at
  127.0.0.1 (DNS rebinding) reaches a loopback socket from the operator's browser, but its
  `Host` and `Origin` still name `attacker.example`: that session is read-only.
- **No login, any other address** (or none: Streamlit then listens on every interface): one line
  saying what to configure, nothing else. No feed is opened and the token is never used.

Deliberate choices:

- "A login is configured" is read from `st.user` itself: Streamlit gives it `is_logged_in` exactly
  when `secrets.toml` has an `[auth]` section (or the user signed in), so this module needs no
  private Streamlit call, and `AppTest.user` drives it in tests.
- The address is `server.address` as Streamlit will bind it. A Unix socket counts as beyond loopback:
  it is how Streamlit sits behind a reverse proxy, which is how it gets published.
- Only an e-mail the provider says is verified (`email_verified` literally true) makes an operator:
  a missing claim, or the string `"False"`, does not. Addresses compare case-blind (the setting is
  lowered when read).
- Being an operator is checked again where an action runs (`permits`), not only where its button
  is drawn. Streamlit already drops a click for a widget a session never drew, but a session that
  drew the button before its user left the allow-list (`.env` is read again on every run) still has it.
- Everything from the provider is shown escaped: an e-mail address is not Markdown.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

import streamlit as st
from streamlit.errors import StreamlitAuthError

from agentchat.dashboard.formatting import escape_markdown
from agentchat.settings import Settings, is_loopback_host

__all__ = [
    "READ_ONLY_NOTE",
    "Access",
    "Gate",
    "account_sidebar",
    "configure_login_line",
    "decide",
    "is_loopback",
    "permits",
    "require_access",
    "same_machine_request",
]

logger = logging.getLogger("agentchat.dashboard")

READ_ONLY_NOTE: Final = "Read-only: Generate and the connection test are for operators (AGENTCHAT_OPERATOR_EMAILS)."
_LOGIN_ERROR_KEY: Final = "_agentchat_login_error"


@dataclass(frozen=True, slots=True)
class Access:
    """The person behind this session: who (when signed in) and whether they may act."""

    operator: bool
    email: str | None = None  # None: a loopback dashboard without a login, nobody signed in
    signed_in: bool = False


class Gate(enum.Enum):
    """Why a run shows nothing of the dashboard."""

    SIGN_IN = "sign in"  # a login is configured and this visitor has not signed in
    CONFIGURE_LOGIN = "configure a login"  # beyond loopback with no login configured


def is_loopback(address: str | None) -> bool:
    """Whether Streamlit bound to `address` is reachable from this machine only."""
    if not address:
        return False  # unset: every interface
    return is_loopback_host(address)  # a host name or a unix:// socket is not: published by whoever set it


def same_machine_request(host: str | None, origin: str | None) -> bool:
    """Whether a session's request names this machine: a loopback `Host`, and an `Origin` (if any) of that host.

    No `Host` at all means no browser request (a script run without a network, as in tests): nothing
    to rebind.
    """
    if host is None:
        return True
    name = host.strip().lower()
    bare = name.split("]", 1)[0] + "]" if name.startswith("[") else name.rsplit(":", 1)[0]
    if not is_loopback_host(bare.rstrip(".")):
        return False
    if origin is None:
        return True
    return urlsplit(origin.strip()).netloc.lower() == name


def decide(
    user: Mapping[str, object],
    address: str | None,
    operator_emails: frozenset[str],
    host: str | None = None,
    origin: str | None = None,
) -> Access | Gate:
    """Who `user` (`st.user`'s fields) is on a dashboard bound to `address`, or why they see nothing.

    `host` and `origin` are the session's own request headers (`st.context.headers`).
    """
    if "is_logged_in" not in user:  # no [auth] section
        if not is_loopback(address):
            return Gate.CONFIGURE_LOGIN
        return Access(operator=same_machine_request(host, origin))
    if user.get("is_logged_in") is not True:
        return Gate.SIGN_IN
    email = user.get("email")
    email = email.strip() if isinstance(email, str) and email.strip() else None
    verified = user.get("email_verified") is True
    operator = email is not None and verified and email.lower() in operator_emails
    return Access(operator=operator, email=email, signed_in=True)


def configure_login_line(address: str | None) -> str:
    """The one line a dashboard beyond loopback without a login shows."""
    where = f"`{escape_markdown(address)}`" if address else "every interface"
    return (
        f"This dashboard listens on {where} without a login: configure Streamlit's OpenID Connect login "
        "(`[auth]` in `.streamlit/secrets.toml`, operators in `AGENTCHAT_OPERATOR_EMAILS`; see the README, "
        '"Dashboard login"), or listen on `127.0.0.1` only.'
    )


def require_access(settings: Settings) -> Access:
    """Who this session is; for a visitor (the sign-in) or an unprotected public dashboard (one line), the run ends."""
    address = st.get_option("server.address")
    headers = st.context.headers
    host, origin = headers.get("Host"), headers.get("Origin")
    decision = decide(st.user.to_dict(), address, settings.operator_emails, host, origin)
    if decision == Access(operator=False):
        logger.warning("a session with Host %r and Origin %r is read-only: not this machine's", host, origin)
    if isinstance(decision, Access):
        return decision

    def gate() -> None:
        if decision is Gate.CONFIGURE_LOGIN:
            st.error(configure_login_line(address))
        else:
            _sign_in_page()

    # One hidden page, whatever the URL asked for: without a navigation of its own, a run that stops here would
    # list the checkout's pages/ folder in a sidebar.
    st.navigation([st.Page(gate, title="agentchat", url_path="gate")], position="hidden").run()
    st.stop()
    raise AssertionError("st.stop() returned")  # pragma: no cover - st.stop raises


def _sign_in_page() -> None:
    st.markdown("### 💬 agentchat")
    st.caption("The AI trading agents' chat, for signed-in users.")
    st.button("Sign in", type="primary", on_click=_sign_in)
    failure = st.session_state.pop(_LOGIN_ERROR_KEY, None)
    if failure:
        st.error(f"Sign-in is not configured correctly: {escape_markdown(str(failure))}")


def _sign_in() -> None:
    """The button's callback (the entry point's widget ids can change after a first run; a callback keeps its id)."""
    try:
        st.login()
    except StreamlitAuthError as error:  # an [auth] section without what the provider needs, or no Authlib
        st.session_state[_LOGIN_ERROR_KEY] = " ".join(str(error).split())


def account_sidebar(access: Access) -> None:
    """Who is signed in, in what role, and the way out; nothing on a loopback dashboard without a login."""
    if not access.signed_in:
        return
    with st.sidebar:
        st.divider()
        role = "operator" if access.operator else "read-only"
        st.caption(f"Signed in as {escape_markdown(access.email or 'a user without an e-mail address')} · {role}")
        if not access.operator:
            st.caption(READ_ONLY_NOTE)
        st.button("Sign out", on_click=st.logout, key="agentchat_sign_out")


def permits(access: Access, action: str) -> bool:
    """Checked where `action` runs: True for an operator; else the attempt is logged and one line says no."""
    if access.operator:
        return True
    logger.warning("refused %s for %s: not an operator", action, access.email or "an anonymous session")
    who = escape_markdown(access.email or "this session")
    st.error(f"Refused: {action} is for operators only; {who} is read-only.")
    return False
