"""The dashboard listens on loopback unless told otherwise, however it is started; read off the listening socket.

It holds the hub's generate token: `streamlit run app.py` and `agentchat dashboard` (the installed
script, run from any directory) both take `server.address = "127.0.0.1"` from the shipped
`.streamlit/config.toml`. (`agentchat run` passes `AGENTCHAT_DASHBOARD_HOST`, default loopback:
tests/test_supervisor.py.) Nothing here connects to anything but 127.0.0.1.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentchat.settings import load_settings
from agentchat.supervisor import Supervisor
from tests.kit.netstat import listening_addresses
from tests.kit.paths import ROOT
from tests.kit.ports import free_port
from tests.kit.processes import stop_process
from tests.kit.waits import wait_answering

COMMANDS = {
    "streamlit run app.py": ([sys.executable, "-m", "streamlit", "run", "app.py"], ROOT),
    "agentchat dashboard": ([sys.executable, "-m", "agentchat", "dashboard"], None),  # None: an empty directory
}


@pytest.fixture
def dashboard_process() -> Iterator[list[subprocess.Popen[bytes]]]:
    processes: list[subprocess.Popen[bytes]] = []
    yield processes
    for process in processes:
        stop_process(process)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_the_dashboard_started_without_an_address_listens_on_loopback_only(
    command: str, tmp_path: Path, dashboard_process: list[subprocess.Popen[bytes]]
) -> None:
    argv, cwd = COMMANDS[command]
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AGENTCHAT_", "STREAMLIT_"))}
    log_path = tmp_path / "dashboard.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*argv, "--server.port", str(port), "--server.headless", "true", "--server.fileWatcherType", "none"],
            cwd=cwd or tmp_path,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    dashboard_process.append(process)
    wait_answering(process, f"http://127.0.0.1:{port}/_stcore/health", log_path.read_text, timeout=30)
    assert listening_addresses(port) == {"127.0.0.1"}


def test_agentchat_run_gives_the_dashboard_the_dashboard_host_not_the_hubs() -> None:
    settings = load_settings(_env_file=None, hub_host="0.0.0.0", generate_token="t")
    options = Supervisor(settings)._dashboard_options()
    assert options[options.index("--server.address") + 1] == "127.0.0.1"
    public = load_settings(_env_file=None, dashboard_host="0.0.0.0")
    options = Supervisor(public)._dashboard_options()
    assert options[options.index("--server.address") + 1] == "0.0.0.0"
