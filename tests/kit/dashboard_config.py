"""The dashboard's own script-level config: what a Streamlit AppTest, which reads none, must be told by hand."""

from __future__ import annotations

import tomllib

from tests.kit.paths import ROOT

DASHBOARD_CONFIG = ROOT / "agentchat" / "dashboard" / "scripts" / ".streamlit" / "config.toml"


def shipped_dashboard_address() -> str:
    """The `server.address` the dashboard's own config.toml sets: what a Streamlit AppTest, which reads no
    script-level config, must be given to stand for a dashboard started as shipped."""
    return str(tomllib.loads(DASHBOARD_CONFIG.read_text())["server"]["address"])
