"""Settings: read once, typed, and a bad value stops the hub with one line naming the variable."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from agentchat.errors import ConfigError
from agentchat.settings import load_settings
from tests.kit.hubs import hub_env
from tests.kit.paths import ROOT


def run_hub(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agentchat", "hub", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=30
    )


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("hub_port", "eighty", "AGENTCHAT_HUB_PORT"),
        ("hub_port", "70000", "AGENTCHAT_HUB_PORT"),
        ("database_url", "mysql://localhost/db", "AGENTCHAT_DATABASE_URL"),
        ("heartbeat_seconds", "-1", "AGENTCHAT_HEARTBEAT_SECONDS"),
        ("hub_url", "ftp://example", "AGENTCHAT_HUB_URL"),
    ],
)
def test_bad_value_stops_the_hub_with_one_line_naming_the_variable(
    tmp_path: Path, variable: str, value: str, named: str
) -> None:
    env = hub_env(f"sqlite:///{tmp_path / 'a.db'}")
    env[f"AGENTCHAT_{variable.upper()}"] = value
    if variable != "hub_port":
        env["AGENTCHAT_HUB_PORT"] = "0"  # should it start after all, on a port of its own
    result = run_hub(env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert named in lines[0]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("roster", "complaint"),
    [
        ("[[agents]\nid = 'x'", "not valid TOML"),
        ("[[agents]]\nid = 'x'\nname = 'X'\ncolor = '#000000'\nstrategy = 'astrology'", "strategy"),
        ("[[agents]]\nid = 'Bad Id'\nname = 'X'\ncolor = '#000000'\nstrategy = 'macro'", "id"),
        ("title = 'no agents'", "at least one"),
        ("[[agents]]\nid = 'x'\nname = '" + "N" * 230 + "'\ncolor = '#000000'\nstrategy = 'macro'", "name"),
        ("[[agents]]\nid = 'x'\nname = \"A\\u0000B\"\ncolor = '#000000'\nstrategy = 'macro'", "name"),
        ("[[agents]]\nid = \"x\\n\"\nname = 'X'\ncolor = '#000000'\nstrategy = 'macro'", "id"),
        ("[[agents]]\nid = 'x'\nname = 'X'\ncolor = \"#000000\\n\"\nstrategy = 'macro'", "color"),
    ],
    ids=["toml", "strategy", "id", "empty", "230-character name", "NUL in name", "id + newline", "color + newline"],
)
def test_bad_roster_file_stops_the_hub(tmp_path: Path, roster: str, complaint: str) -> None:
    path = tmp_path / "agents.toml"
    path.write_text(roster)
    result = run_hub(hub_env(f"sqlite:///{tmp_path / 'a.db'}", agents_file=path, hub_port=0))
    assert result.returncode == 2
    assert "AGENTCHAT_AGENTS_FILE" in result.stderr and complaint in result.stderr
    assert "Traceback" not in result.stderr


def test_public_bind_without_token_refuses_to_start(tmp_path: Path) -> None:
    result = run_hub(hub_env(f"sqlite:///{tmp_path / 'a.db'}"), "--host", "0.0.0.0", "--port", "0")
    assert result.returncode == 2
    assert "AGENTCHAT_GENERATE_TOKEN" in result.stderr


def test_roster_file_replaces_the_built_in_agents(tmp_path: Path) -> None:
    path = tmp_path / "agents.toml"
    path.write_text("[[agents]]\nid = 'solo'\nname = 'Solo Trader'\ncolor = '#123456'\nstrategy = 'macro'\n")
    settings = load_settings(agents_file=path)
    assert [agent.id for agent in settings.roster()] == ["solo"]


def test_dotenv_file_sets_values_and_environment_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("AGENTCHAT_POLL_SECONDS=12\nAGENTCHAT_MAX_PER_AGENT=7\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AGENTCHAT_MAX_PER_AGENT", "9")
    settings = load_settings()
    assert settings.poll_seconds == 12
    assert settings.max_per_agent == 9


def test_cors_origins_are_comma_separated() -> None:
    settings = load_settings(cors_origins="https://a.example, https://b.example")
    assert settings.cors_origins == ("https://a.example", "https://b.example")


def test_load_settings_raises_config_error_for_a_bad_value() -> None:
    with pytest.raises(ConfigError, match="AGENTCHAT_RETENTION_SECONDS"):
        load_settings(retention_seconds="soon")


def test_a_retry_range_whose_minimum_is_above_its_maximum_names_both_variables() -> None:
    with pytest.raises(ConfigError, match=r"AGENTCHAT_STREAM_RETRY_MIN_MS .* AGENTCHAT_STREAM_RETRY_MAX_MS"):
        load_settings(stream_retry_min_ms=3000, stream_retry_max_ms=2000)


def test_public_bind_with_a_short_token_refuses_to_start(tmp_path: Path) -> None:
    env = hub_env(f"sqlite:///{tmp_path / 'a.db'}", generate_token="short")
    result = run_hub(env, "--host", "0.0.0.0", "--port", "0")
    assert result.returncode == 2
    assert "at least 16 characters" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("token", ["   ", " padded-token "])
def test_a_blank_or_padded_token_is_refused(token: str) -> None:
    with pytest.raises(ConfigError, match="AGENTCHAT_GENERATE_TOKEN"):
        load_settings(generate_token=token)


SECRET = "hunter2-s3cret"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("generate_token", f" {SECRET}"),  # a leading space
        ("database_url", f"mysql://admin:{SECRET}@db.example/agentchat"),
        ("database_url", f"admin:{SECRET}@db.example/agentchat"),  # no scheme at all
        ("llm_base_url", f"ftp://user:{SECRET}@llm.example/v1"),
        ("hub_url", f"ftp://user:{SECRET}@hub.example"),
    ],
)
def test_a_settings_error_names_the_variable_and_never_its_secret_value(variable: str, value: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings(**{variable: value})
    assert f"AGENTCHAT_{variable.upper()}" in refused.value.detail
    assert SECRET not in refused.value.detail and "admin" not in refused.value.detail


@pytest.mark.parametrize("origin", ["localhost:3000", "example.com", "http://example.com/path"])
def test_a_cors_origin_without_a_scheme_or_with_a_path_is_refused(origin: str) -> None:
    with pytest.raises(ConfigError, match="AGENTCHAT_CORS_ORIGINS"):
        load_settings(cors_origins=f"https://ok.example,{origin}")


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        ("sqlite://data/agentchat.db", "three slashes"),  # two slashes: "data" would be a host
        ("sqlite:////proc/agentchat/agentchat.db", "cannot create the directory"),
        (f"postgresql+psycopg://postgres:{SECRET}@127.0.0.1:1/agentchat", "Connection refused"),
    ],
    ids=["two-slashes", "uncreatable-directory", "no-postgresql"],
)
def test_a_database_that_cannot_be_opened_is_one_line_naming_the_variable(url: str, complaint: str) -> None:
    env = hub_env(url, hub_port=0, db_timeout_seconds=2)
    result = run_hub(env)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "AGENTCHAT_DATABASE_URL" in lines[0] and complaint in lines[0]
    assert SECRET not in result.stderr


def test_a_bad_port_flag_blames_the_flag_not_the_variable(tmp_path: Path) -> None:
    result = run_hub(hub_env(f"sqlite:///{tmp_path / 'a.db'}"), "--port", "99999")
    assert result.returncode == 2
    assert "--port" in result.stderr and "99999 is not a port" in result.stderr
    assert "AGENTCHAT_HUB_PORT" not in result.stderr
