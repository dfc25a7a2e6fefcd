"""`pip install` of the built wheel into an empty venv gives a working `agentchat`, from any directory.

The module builds the wheel once, from a copy of the sources (a setuptools build writes `build/`
and `*.egg-info` beside them), by calling the PEP 517 hook of the backend pyproject.toml names, as
pip does, but with the dev venv's pinned setuptools instead of a build environment of its own
(0.5 s instead of 3 s). It installs the wheel into a new venv that has nothing in it, not even pip:
this venv's uv installs into it (`--python`), with `requirements.txt` as constraints, so the pinned
releases come from uv's cache, linked rather than unpacked (pip took 15-20 s here, uv 1-2 s). Neither
byte-compiles by default: that is left to the first import, which touches a fraction of what is
installed. Every command then runs from an empty directory with no `PYTHONPATH` and no AGENTCHAT_
variable but the test's own, so nothing of the checkout can stand in for what the wheel lacks.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name

from agentchat.probe import CHECK_NAMES
from tests.kit.hubs import STARTED_LINE
from tests.kit.paths import ROOT
from tests.kit.processes import stop_process
from tests.kit.waits import wait_answering, wait_until

COMMANDS = ("hub", "run", "check", "db", "scheduler", "agent-example", "dashboard")
# Run by the installed venv's Python: the pages of the Streamlit script `agentchat dashboard` serves.
DASHBOARD_PAGES = """
import json
import tomllib
import streamlit as st
from streamlit import config as streamlit_config
from streamlit.testing.v1 import AppTest
from agentchat.cli import DASHBOARD_SCRIPT

# AppTest reads no script-level config: give it the address the installed config.toml sets
shipped = tomllib.loads((DASHBOARD_SCRIPT.parent / ".streamlit" / "config.toml").read_text())["server"]["address"]
streamlit_config.set_option("server.address", shipped)
at = AppTest.from_file(str(DASHBOARD_SCRIPT), default_timeout=30).run()
live = {"errors": [e.value for e in at.exception], "markdown": [m.value for m in at.markdown]}
at.switch_page("diagnostics.py").run()
diagnostics = {"errors": [e.value for e in at.exception], "titles": [t.value for t in at.title]}
at.switch_page("leaderboard.py").run()
leaderboard = {"errors": [e.value for e in at.exception], "titles": [t.value for t in at.title]}
at.switch_page("history.py").run()
history = {"errors": [e.value for e in at.exception], "titles": [t.value for t in at.title]}
st.cache_resource.clear()  # closes the session's feed, as the end of a session does
config = (DASHBOARD_SCRIPT.parent / ".streamlit" / "config.toml").is_file()  # Streamlit's script-level config
print(json.dumps({"script": str(DASHBOARD_SCRIPT), "config": config, "address": shipped, "live": live,
                  "diagnostics": diagnostics, "leaderboard": leaderboard, "history": history}))
"""
BUILD_INPUTS = ("pyproject.toml", "README.md", "agentchat")  # what pyproject.toml names: the readme, the package


@dataclass(frozen=True)
class Installed:
    """The venv the wheel went into, and an empty directory to run its commands from."""

    venv: Path
    workdir: Path

    @property
    def bin(self) -> Path:
        return self.venv / "bin"

    def env(self, **settings: str) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("AGENTCHAT_", "PYTHON", "VIRTUAL_ENV"))
        }
        env.update({f"AGENTCHAT_{key.upper()}": value for key, value in settings.items()})
        env["PYTHONUNBUFFERED"] = "1"
        return env

    def run(self, *argv: str, timeout: float = 60, **settings: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.bin / argv[0]), *argv[1:]],
            cwd=self.workdir,
            env=self.env(**settings),
            capture_output=True,
            text=True,
            timeout=timeout,
        )


def succeed(argv: list[str], **options: Any) -> None:
    """Run a build or install step; on failure, fail the test with what the step printed."""
    result = subprocess.run(argv, capture_output=True, text=True, **options)
    assert result.returncode == 0, f"{argv!r} exited with {result.returncode}:\n{result.stdout}{result.stderr}"


def pins() -> dict[NormalizedName, str]:
    """requirements.txt as {canonical name: pinned version}."""
    found = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            found[canonicalize_name(name)] = version
    return found


def declared() -> list[Requirement]:
    """The runtime dependencies and the `dev` extra, as pyproject.toml declares them."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [Requirement(text) for text in [*project["dependencies"], *project["optional-dependencies"]["dev"]]]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    source = tmp_path_factory.mktemp("source")
    for name in BUILD_INPUTS:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(ROOT / name, source / name)
    wheels = tmp_path_factory.mktemp("wheels")
    backend = tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]["build-backend"]
    build = f"import importlib, sys; importlib.import_module({backend!r}).build_wheel(sys.argv[1])"
    succeed([sys.executable, "-c", build, str(wheels)], cwd=source, timeout=120)
    (wheel,) = wheels.glob("agentchat-*.whl")

    venv = tmp_path_factory.mktemp("venv")
    succeed([sys.executable, "-m", "venv", "--without-pip", str(venv)], timeout=60)
    uv = [sys.executable, "-m", "uv", "pip", "install", "--quiet", "--python", str(venv / "bin/python")]
    succeed([*uv, "-c", str(ROOT / "requirements.txt"), str(wheel)], timeout=300)
    return Installed(venv, tmp_path_factory.mktemp("empty"))


@pytest.fixture(scope="module")
def installed_hub(installed: Installed, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`agentchat hub` from the installed venv on port 0 (the port read from its log), its SQLite file in a
    temporary directory."""
    files = tmp_path_factory.mktemp("hub")
    database, log_path = files / "agentchat.db", files / "hub.log"
    env = installed.env(database_url=f"sqlite:///{database}", hub_port="0", heartbeat_seconds="0.5")
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(installed.bin / "agentchat"), "hub"],
            cwd=installed.workdir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        port = int(wait_until(lambda: bound_port(process, log_path), timeout=60, interval=0.05))
        url = f"http://127.0.0.1:{port}"
        wait_answering(process, f"{url}/healthz", lambda: log_path.read_text(errors="replace"), timeout=60)
        yield url
    finally:
        stop_process(process)


def bound_port(process: subprocess.Popen[bytes], log_path: Path) -> int | None:
    """The port the hub's start-up line names, once it is in the log; fails if the hub exited first."""
    log = log_path.read_text(errors="replace")
    found = STARTED_LINE.search(log)
    if found:
        return int(found.group(1))
    assert process.poll() is None, f"the installed hub exited with {process.returncode}:\n{log}"
    return None


def test_requirements_pin_exactly_the_declared_dependencies_each_inside_its_range() -> None:
    pinned = pins()
    requirements = {canonicalize_name(requirement.name): requirement for requirement in declared()}
    assert set(pinned) == set(requirements)
    outside = {name: version for name, version in pinned.items() if version not in requirements[name].specifier}
    assert outside == {}


def test_the_installed_package_is_the_venvs_own_not_the_checkout(installed: Installed) -> None:
    result = installed.run("python", "-c", "import agentchat; print(agentchat.__file__)")
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()).is_relative_to(installed.venv)


def test_agentchat_help_lists_every_command(installed: Installed) -> None:
    result = installed.run("agentchat", "--help")
    assert result.returncode == 0, result.stderr
    listed = {line.split()[0] for line in result.stdout.partition("\ncommands:\n")[2].splitlines()[1:] if line}
    assert listed == set(COMMANDS)


def test_the_installed_dashboard_script_serves_the_live_page_diagnostics_and_the_leaderboard(
    installed: Installed, installed_hub: str
) -> None:
    # Four page runs in a fresh venv that first compiles what it imports (Streamlit's many modules): a ceiling for a
    # hang, generous because on a loaded machine the compiling alone has taken most of a minute.
    result = installed.run("python", "-c", DASHBOARD_PAGES, timeout=180, hub_url=installed_hub)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert Path(seen["script"]).is_relative_to(installed.venv)
    assert seen["config"] is True
    assert seen["address"] == "127.0.0.1"
    assert seen["live"]["errors"] == []
    assert any("🟢 Real-time (SSE)" in text for text in seen["live"]["markdown"])  # its feed reached the hub
    assert seen["diagnostics"] == {"errors": [], "titles": ["Diagnostics"]}
    assert seen["leaderboard"] == {"errors": [], "titles": ["Leaderboard"]}
    assert seen["history"] == {"errors": [], "titles": ["History"]}


def test_installed_agentchat_check_passes_against_the_installed_hub(installed: Installed, installed_hub: str) -> None:
    result = installed.run("agentchat", "check", "--hub", installed_hub)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1] == f"all {len(CHECK_NAMES)} checks passed against {installed_hub}"
