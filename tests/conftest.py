"""Fixtures: databases (a SQLite file, the local PostgreSQL) and real hubs, in this process or their own."""

from __future__ import annotations

import functools
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, sync_playwright
from streamlit import config as streamlit_config

from tests.kit.apptest import isolated_dashboard
from tests.kit.browser import CHROMIUM, CHROMIUM_ARGS
from tests.kit.dashboard_config import shipped_dashboard_address
from tests.kit.hubs import HubProcess, InProcessHub

POSTGRES_ADMIN_URL = os.environ.get(
    "AGENTCHAT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
_postgres_skip_reason: list[str] = []


def _postgres_reachable() -> bool:
    try:
        engine = sa.create_engine(POSTGRES_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
        engine.dispose()
        return True
    except sa.exc.SQLAlchemyError as exc:
        _postgres_skip_reason.append(str(exc).splitlines()[0])
        return False


POSTGRES_UP = _postgres_reachable()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not POSTGRES_UP:
        terminalreporter.write_line(
            f"PostgreSQL tests SKIPPED: no PostgreSQL at {POSTGRES_ADMIN_URL} ({_postgres_skip_reason[0]})", red=True
        )


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database, dropped afterwards."""
    if not POSTGRES_UP:
        if os.environ.get("CI"):
            pytest.fail(f"CI needs PostgreSQL at {POSTGRES_ADMIN_URL}")
        pytest.skip(f"no PostgreSQL at {POSTGRES_ADMIN_URL}")
    name = f"agentchat_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'agentchat.db'}"


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Each test that takes this runs once on a SQLite file and once on PostgreSQL."""
    return str(request.getfixturevalue(f"{request.param}_url"))


@pytest.fixture
def hub_http() -> str:
    """uvicorn's HTTP protocol for the hubs a test starts; a module overrides this to run under each.

    Under httptools the fan-out writes to uvicorn's transport, under h11 it steps the ASGI
    `send` (`agentchat/hub/sockets/`).
    """
    return "auto"


HubT = TypeVar("HubT", InProcessHub, HubProcess)


def hub_starter(make: Callable[..., HubT], sqlite_url: str, hub_http: str) -> tuple[Callable[..., HubT], list[HubT]]:
    """A `start(database_url=None, wait=True, **settings)` for a fixture, and the hubs it started."""
    hubs: list[HubT] = []

    def start(database_url: str | None = None, wait: bool = True, **settings: Any) -> HubT:
        settings.setdefault("hub_http", hub_http)
        hub = make(database_url or sqlite_url, **settings)
        hubs.append(hub)
        return hub.start(wait=wait)

    return start, hubs


@pytest.fixture
def start_hub(sqlite_url: str, hub_http: str) -> Iterator[Callable[..., InProcessHub]]:
    """Start hubs in this process (SQLite unless `database_url=` is given); all are stopped afterwards."""
    start, hubs = hub_starter(InProcessHub, sqlite_url, hub_http)
    yield start
    for hub in hubs:
        hub.stop()


@pytest.fixture
def hub(start_hub: Callable[..., InProcessHub]) -> InProcessHub:
    """One hub on a fresh SQLite file, heartbeats every 0.5 s."""
    return start_hub(heartbeat_seconds=0.5)


@pytest.fixture
def start_hub_process(tmp_path: Path, sqlite_url: str, hub_http: str) -> Iterator[Callable[..., HubProcess]]:
    """Start `agentchat hub` processes (forked, `tests/kit/hub_forks.py`), for tests where the process boundary
    is the point (kill -9, SIGSTOP, SIGTERM, the hub's own log, its memory); all are stopped afterwards."""
    start, hubs = hub_starter(functools.partial(HubProcess, log_dir=tmp_path, forked=True), sqlite_url, hub_http)
    yield start
    for hub in hubs:
        hub.stop()


@pytest.fixture
def hub_process(start_hub_process: Callable[..., HubProcess]) -> HubProcess:
    """One hub process on a fresh SQLite file, heartbeats every 0.5 s."""
    return start_hub_process(heartbeat_seconds=0.5)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless, one per test module (each test opens its own pages or contexts).

    Not one per process: while the sync Playwright API lives, its event loop is the thread's running
    loop, and a later test of the same worker that calls `asyncio.run()` would fail.
    """
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def dashboard_feeds_timeout() -> float:
    """How long a dashboard session may take to release its feed's thread after a test; a module overrides this."""
    return 5.0


@pytest.fixture
def dashboard_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, dashboard_feeds_timeout: float) -> Iterator[None]:
    """The clean environment of a Streamlit AppTest of the dashboard, for every test of the modules that name it
    in `pytestmark`: no AGENTCHAT_ variable or `.env` of the developer's leaks in (the test runs in `tmp_path`),
    the dashboard is on its shipped (loopback) address before and after the test (an AppTest reads no
    script-level config; loopback needs no login), and the session's feed is released after."""
    with isolated_dashboard(monkeypatch, tmp_path, feeds_timeout=dashboard_feeds_timeout):
        streamlit_config.set_option("server.address", shipped_dashboard_address())
        yield
        streamlit_config.set_option("server.address", shipped_dashboard_address())


# How `make test` spreads the tests over pytest-xdist workers (`--dist loadfile --no-loadscope-reorder`):
# a file is one unit of work (its tests may share a module-scoped hub, dashboard or wheel), and the
# units start heaviest first, so that the longest do not start last and finish alone.
# Seconds of one file run alone, roughly; what is not listed counts as a third of a second a test.
FILE_SECONDS = {
    "tests/test_browser.py": 120,
    "tests/test_supervisor.py": 100,
    "tests/test_viewer.py": 70,
    "tests/test_nginx.py": 65,
    "tests/test_client.py": 55,
    "tests/test_migrations.py": 50,
    "tests/test_install.py": 30,  # the wheel installed by uv: 1-2 s where pip took 15-20
    "tests/test_login.py": 30,
    "tests/test_fuzz.py": 28,
    "tests/test_dashboard.py": 25,
    "tests/test_postgres_bus.py": 22,
    "tests/test_settings.py": 20,  # 34 tests, most starting `python -m agentchat hub`
    "tests/test_resume_window.py": 18,
    "tests/test_exported_members.py": 5,  # many small checks
    "tests/test_dashboard_formatting.py": 5,
    "tests/test_generator.py": 10,
}


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Heaviest files first (a stable sort: a file's tests keep their order)."""
    if not config.pluginmanager.hasplugin("xdist"):
        return
    counts: dict[str, int] = {}
    for item in items:
        path = item.nodeid.split("::", 1)[0]
        counts[path] = counts.get(path, 0) + 1

    def weight(item: pytest.Item) -> float:
        path = item.nodeid.split("::", 1)[0]
        return FILE_SECONDS.get(path, counts[path] / 3)

    items.sort(key=lambda item: -weight(item))
