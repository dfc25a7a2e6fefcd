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

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from agentchat.agents import BUILTIN_ROSTER, Agent, load_roster
from agentchat.errors import ConfigError

__all__ = ["ENV_PREFIX", "Settings", "load_settings"]

ENV_PREFIX = "AGENTCHAT_"
_DATABASE_SCHEMES = ("sqlite", "postgresql")


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
    db_timeout_seconds: float = Field(5, gt=0)
    db_pool_size: int = Field(5, ge=1, le=100)
    client_buffer_bytes: int = Field(256 * 1024, ge=4096)
    access_log: bool = True
    hub_http: Literal["auto", "httptools", "h11"] = "auto"  # uvicorn's HTTP protocol (auto: httptools)
    dashboard_port: int = Field(8501, ge=1, le=65535)

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        scheme = value.split(":", 1)[0].split("+", 1)[0]
        if scheme not in _DATABASE_SCHEMES:
            raise ValueError(f"scheme {scheme!r} is not one of sqlite, postgresql (e.g. sqlite:///data/agentchat.db)")
        return value

    @field_validator("hub_url", "llm_base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value.rstrip("/")

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(origin.strip() for origin in value.split(",") if origin.strip())
        return value

    @field_validator("generate_token", "llm_api_key", "agents_file", "llm_model", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        return None if value == "" else value

    @property
    def hub_is_loopback(self) -> bool:
        if self.hub_host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.hub_host).is_loopback
        except ValueError:
            return False

    @property
    def token(self) -> str | None:
        return self.generate_token.get_secret_value() if self.generate_token else None

    def roster(self) -> tuple[Agent, ...]:
        """The agents: the built-in six, or the TOML file's."""
        return load_roster(self.agents_file) if self.agents_file else BUILTIN_ROSTER

    def require_safe_bind(self) -> None:
        """A hub that others can reach must not let anyone trigger generation."""
        if not self.hub_is_loopback and not self.token:
            raise ConfigError(
                f"AGENTCHAT_GENERATE_TOKEN must be set when the hub listens on {self.hub_host} (not a loopback address)"
            )


def load_settings(**overrides: Any) -> Settings:
    """Read the environment (and `.env`); raise `ConfigError` naming the first bad variable."""
    try:
        settings = Settings(**overrides)
        settings.roster()
    except ValidationError as exc:
        error = exc.errors()[0]
        field = str(error["loc"][0]) if error["loc"] else "?"
        message = str(error["msg"]).removeprefix("Value error, ")
        received = error.get("input")
        shown = "" if isinstance(received, dict) or received is None else f" (got {received!r})"
        raise ConfigError(f"{ENV_PREFIX}{field.upper()}: {message}{shown}") from None
    return settings
