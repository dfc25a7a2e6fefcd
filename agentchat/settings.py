"""The one place that reads the environment.

Every variable of SPEC section 3 is read once, with a `.env` file in the working
directory as a lower-priority source, into a frozen, typed `Settings`. Everything
else receives a `Settings` object, so tests pass their own. A bad value stops the
process at start with one line naming the variable (`ConfigError`), never later.

pydantic-settings does the reading and type coercion; this module adds the checks
that need more than one value (a public bind address needs a generate token) and
turns pydantic's multi-line report into that one line.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from agentchat.agents import BUILTIN_ROSTER, Agent, load_roster
from agentchat.errors import ConfigError

__all__ = ["ENV_PREFIX", "MIN_PUBLIC_TOKEN_CHARS", "Settings", "is_loopback_host", "load_settings"]

ENV_PREFIX = "AGENTCHAT_"
# Never quoted back in an error: tokens and keys, and URLs, which may carry a password.
SECRET_FIELDS = frozenset({"generate_token", "llm_api_key", "database_url", "llm_base_url", "hub_url"})
_DATABASE_SCHEMES = ("sqlite", "postgresql")
MIN_PUBLIC_TOKEN_CHARS = 16  # a hub reachable beyond loopback needs a token that is not guessable


def is_loopback_host(host: str) -> bool:
    """`localhost`, `127.0.0.1`, `::1` (bracketed or not) and the rest of 127/8: reachable from this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class Settings(BaseSettings):
    """agentchat's configuration; field `x` is read from `AGENTCHAT_X`."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        frozen=True,
    )

    database_url: str = "sqlite:///data/agentchat.db"
    hub_url: str = "http://127.0.0.1:8000"
    hub_host: str = "127.0.0.1"
    hub_port: int = Field(8000, ge=0, le=65535)
    generate_token: SecretStr | None = None
    retention_seconds: float = Field(600, gt=0)
    history_days: float = Field(30, gt=0, le=36500)  # how long every message is kept for history (store.py)
    heartbeat_seconds: float = Field(30, gt=0)
    schedule_minutes: float = Field(15, gt=0)
    poll_seconds: float = Field(45, gt=0)
    max_per_agent: int = Field(20, ge=1, le=1000)
    agents_file: Path | None = None
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key: SecretStr | None = None
    llm_timeout_seconds: float = Field(20, gt=0)
    cors_origins: Annotated[tuple[str, ...], NoDecode] = ()
    allowed_hosts: Annotated[tuple[str, ...], NoDecode] = ()  # Host names served (unset: any)
    max_streams: int | None = Field(None, ge=1)  # unset: derived from the fd limit (hub/limits.py)
    db_timeout_seconds: float = Field(5, gt=0)
    db_pool_size: int = Field(5, ge=1, le=100)
    client_buffer_bytes: int = Field(256 * 1024, ge=4096)
    access_log: bool = True
    hub_http: Literal["auto", "httptools", "h11"] = "auto"  # uvicorn's HTTP protocol (auto: httptools)
    dashboard_host: str = "127.0.0.1"
    dashboard_port: int = Field(8501, ge=1, le=65535)
    generate_per_minute: int = Field(60, ge=1, le=100_000)
    publish_per_minute: int = Field(60, ge=1, le=100_000)  # each external agent's messages a minute
    llm_decides: bool = False  # with an LLM endpoint: the model decides each trade (hub/decisions.py)
    operator_emails: Annotated[frozenset[str], NoDecode] = frozenset()
    # The `retry:` each stream is sent, drawn per connection in this range (ms). The default is the
    # contract's fixed `retry: 3000`; a range spreads a restart's reconnects over it (hub/retry.py).
    stream_retry_min_ms: int = Field(3000, ge=100, le=600_000)
    stream_retry_max_ms: int = Field(3000, ge=100, le=600_000)
    # The recent frames a resume is served from without a store read (hub/window.py).
    resume_window_messages: int = Field(5000, ge=0, le=1_000_000)
    resume_window_bytes: int = Field(4 * 1024 * 1024, ge=0, le=1024 * 1024 * 1024)
    connects_per_tick: int = Field(64, ge=1, le=100_000)  # stream connects admitted per event-loop iteration
    head_timeout_seconds: float = Field(10, gt=0, le=600)  # a connection's request head must arrive this fast

    @model_validator(mode="after")
    def _retry_range(self) -> Settings:
        if self.stream_retry_min_ms > self.stream_retry_max_ms:
            raise ValueError(
                f"{ENV_PREFIX}STREAM_RETRY_MIN_MS ({self.stream_retry_min_ms}) is above"
                f" {ENV_PREFIX}STREAM_RETRY_MAX_MS ({self.stream_retry_max_ms})"
            )
        return self

    stream_origins: Annotated[tuple[str, ...], NoDecode] = ()  # besides the dashboard's own (`dashboard_origins`)
    dashboard_cards: Literal["element", "elements"] = "element"  # elements: a Streamlit element per card (one release)
    dashboard_redraw: Literal["change", "clock"] = "change"  # clock: today's 1 s timer (the bench's old mode)
    # Who gets `event: book`: the streams that ask (`?books=1`), or every stream the former way (the bench's old mode).
    book_frames: Literal["asked", "every_stream"] = "asked"
    dashboard_clock_seconds: float = Field(1, gt=0, le=3600)  # the live area's timer in clock mode and fallback
    dashboard_age_seconds: float = Field(15, gt=0, le=3600)  # in change mode, how often ages move (elements)
    # With the element (its cards' ages move by the browser's clock): how often the live area reruns with nothing
    # new, for what moves with time on the server's side (counts over the retention window, the model's notice).
    dashboard_refresh_seconds: float = Field(60, gt=0, le=3600)

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        """A URL of a database we support; never quoted back, as it may hold a password."""
        scheme = value.split("://", 1)[0].split("+", 1)[0] if "://" in value else ""
        if scheme not in _DATABASE_SCHEMES:
            raise ValueError(
                "must be a sqlite:// or postgresql:// URL (e.g. sqlite:///data/agentchat.db,"
                " postgresql+psycopg://user@host/db)"
            )
        try:
            url = make_url(value)
        except ArgumentError:
            raise ValueError("is not a database URL SQLAlchemy can read") from None
        if scheme == "sqlite" and url.host:  # sqlite://data/x.db: "data" would be a host, and is silently lost
            raise ValueError(
                "a SQLite URL has three slashes before a relative path (sqlite:///data/agentchat.db)"
                " and four before an absolute one (sqlite:////var/lib/agentchat.db)"
            )
        if scheme == "postgresql" and not url.database:
            raise ValueError("names no database (postgresql+psycopg://user@host/dbname)")
        return value

    @field_validator("hub_url", "llm_base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("is not an http(s) URL")  # not quoted back: it may carry credentials
        return value.rstrip("/")

    @field_validator("generate_token")
    @classmethod
    def _token_not_blank(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().strip():
            raise ValueError("must not be only whitespace (unset it to need no token)")
        if value is not None and value.get_secret_value() != value.get_secret_value().strip():
            raise ValueError("must not start or end with whitespace")
        return value

    @field_validator("cors_origins", "allowed_hosts", "stream_origins", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(origin.strip() for origin in value.split(",") if origin.strip())
        return value

    @field_validator("cors_origins", "stream_origins")
    @classmethod
    def _origins(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        """Each an origin as a browser sends it (`scheme://host[:port]`): `localhost:3000` would match nothing."""
        value = tuple(origin.rstrip("/") for origin in value)
        for origin in value:
            if origin == "*":
                continue
            parts = urlsplit(origin)
            if parts.scheme not in ("http", "https") or not parts.netloc or parts.path or parts.query:
                raise ValueError(f"{origin!r} is not an origin: scheme://host[:port], e.g. http://localhost:3000")
        return value

    @field_validator("operator_emails", mode="before")
    @classmethod
    def _email_list(cls, value: Any) -> Any:
        """`a@example.com, B@example.com` → {a@example.com, b@example.com}: e-mail addresses compare case-blind."""
        if isinstance(value, str):
            value = value.split(",")
        if isinstance(value, list | tuple | set | frozenset):
            emails = frozenset(str(email).strip().lower() for email in value if str(email).strip())
            malformed = sorted(email for email in emails if "@" not in email or any(c.isspace() for c in email))
            if malformed:
                raise ValueError(f"{malformed[0]!r} is not an e-mail address (a comma-separated list of them)")
            return emails
        return value

    @field_validator("generate_token", "llm_api_key", "agents_file", "llm_model", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        return None if value == "" else value

    @property
    def hub_is_loopback(self) -> bool:
        return is_loopback_host(self.hub_host)

    @property
    def dashboard_origins(self) -> frozenset[str]:
        """Origins whose pages may read the stream: the dashboard's own, and `AGENTCHAT_STREAM_ORIGINS`.

        The dashboard's change-driven redraw holds an `EventSource` on the hub from the operator's
        browser, so the hub must accept the dashboard's origin on its stream with no setting made:
        it is derived from `AGENTCHAT_DASHBOARD_HOST`/`PORT`, what `agentchat run` serves it on. A
        dashboard published under another name needs that name in `AGENTCHAT_STREAM_ORIGINS`, else its
        sessions keep the timer. Reading the stream needs no token: any origin allowed here sees only
        what the viewer page shows anyone.
        """
        port = self.dashboard_port
        origins = {f"http://127.0.0.1:{port}", f"http://localhost:{port}", *self.stream_origins}
        if self.dashboard_host not in ("0.0.0.0", "::", "") and not is_loopback_host(self.dashboard_host):
            host = f"[{self.dashboard_host}]" if ":" in self.dashboard_host else self.dashboard_host
            origins.add(f"http://{host}:{port}")
        return frozenset(origins)

    @property
    def stream_cors_origins(self) -> frozenset[str]:
        """Origins the stream answers with `Access-Control-Allow-Origin`: the API's and the dashboard's."""
        return frozenset(self.cors_origins) | self.dashboard_origins

    @property
    def token(self) -> str | None:
        return self.generate_token.get_secret_value() if self.generate_token else None

    def roster(self) -> tuple[Agent, ...]:
        """The agents: the built-in six, or the TOML file's."""
        return load_roster(self.agents_file) if self.agents_file else BUILTIN_ROSTER

    def require_safe_bind(self) -> None:
        """A hub that others can reach must not let anyone trigger generation, nor a guessed token."""
        if not self.hub_is_loopback and not self.token:
            raise ConfigError(
                f"AGENTCHAT_GENERATE_TOKEN must be set when the hub listens on {self.hub_host} (not a loopback address)"
            )
        if not self.hub_is_loopback and self.token and len(self.token) < MIN_PUBLIC_TOKEN_CHARS:
            raise ConfigError(
                f"AGENTCHAT_GENERATE_TOKEN must be at least {MIN_PUBLIC_TOKEN_CHARS} characters "
                f"when the hub listens on {self.hub_host} (not a loopback address)"
            )


def load_settings(**overrides: Any) -> Settings:
    """Read the environment (and `.env`); raise `ConfigError` naming the first bad variable."""
    try:
        settings = Settings(**overrides)
        settings.roster()
    except ValidationError as exc:
        error = exc.errors()[0]
        message = str(error["msg"]).removeprefix("Value error, ")
        if not error["loc"]:  # a rule over several variables names them in its message
            raise ConfigError(message) from None
        field = str(error["loc"][0])
        received = error.get("input")
        secret = field in SECRET_FIELDS or isinstance(received, dict) or received is None
        shown = "" if secret else f" (got {received!r})"
        raise ConfigError(f"{ENV_PREFIX}{field.upper()}: {message}{shown}") from None
    return settings
