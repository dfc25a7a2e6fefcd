"""The dashboard in Streamlit's AppTest: `open_dashboard` runs `app.py` against a hub, its settings
from the environment as `streamlit run app.py` reads them; `DIAGNOSTICS` is the page to switch to."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.kit.paths import ROOT

__all__ = ["APP", "DIAGNOSTICS", "open_dashboard"]

APP = ROOT / "app.py"
DIAGNOSTICS = "pages/1_Diagnostics.py"


def open_dashboard(monkeypatch: pytest.MonkeyPatch, hub_url: str, **settings: str) -> AppTest:
    monkeypatch.setenv("AGENTCHAT_HUB_URL", hub_url)
    for key, value in settings.items():
        monkeypatch.setenv(f"AGENTCHAT_{key.upper()}", value)
    return AppTest.from_file(APP, default_timeout=20).run()
