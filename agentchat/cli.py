"""`agentchat <command>` (or `python -m agentchat <command>`): argument parsing, one function per command.

Every `AgentchatError` becomes one readable line on stderr and exit status 2; a
traceback is never what an operator sees for a condition we know about.

`scheduler` and `dashboard` hand the rest of the command line on: to the scheduler's own parser
(the one `python scheduler.py` uses), and to `streamlit run` with the Streamlit script that ships
inside the package, so `agentchat dashboard --server.port 8502` takes every option Streamlit does.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import logging
import os
import socket
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from agentchat.errors import AgentchatError, ConfigError, StoreUnavailable
from agentchat.settings import Settings, load_settings

__all__ = ["build_parser", "database_named", "listen_socket", "main", "run_hub"]

HEADER_BYTES_LIMIT = 64 * 1024  # uvicorn h11: an incomplete request head over this is refused
LOG_FORMAT = "%(asctime)s %(levelname)-5s %(name)s: %(message)s"
# The dashboard's Streamlit entry script: a file Streamlit runs, beside its pages and the script-level
# `.streamlit/config.toml`, installed with the package (the checkout's app.py is a second entry point).
DASHBOARD_SCRIPT = Path(__file__).resolve().parent / "dashboard" / "scripts" / "app.py"


def _port(text: str) -> int:
    """`--port`'s type: a bad value is the flag's fault, named as such (not `AGENTCHAT_HUB_PORT`'s)."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port (0-65535)")
    return port


@contextlib.contextmanager
def database_named(settings: Settings) -> Iterator[None]:
    """Failures to open or migrate the database, as one line naming `AGENTCHAT_DATABASE_URL` (password hidden)."""
    shown = sa.make_url(settings.database_url).render_as_string(hide_password=True)
    try:
        yield
    except OSError as error:  # the SQLite file's directory cannot be created
        where = f" {error.filename}" if error.filename else ""
        raise ConfigError(
            f"AGENTCHAT_DATABASE_URL ({shown}): cannot create the directory{where}: {error.strerror or error}"
        ) from None
    except StoreUnavailable as error:
        raise StoreUnavailable(f"{error.detail} (AGENTCHAT_DATABASE_URL is {shown})") from None


def listen_socket(host: str, port: int) -> socket.socket:
    """The hub's listening socket, bound here (before any start-up work) so a taken port is one clear line."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as error:
        sock.close()
        taken = (
            ": another process has this port (choose another with AGENTCHAT_HUB_PORT or --port)"
            if error.errno == errno.EADDRINUSE
            else f": {error.strerror or error}"
        )
        raise ConfigError(f"cannot listen on {host}:{port}{taken}") from None
    return sock


def _announcer(host: str, port: int, ready_fd: int | None) -> Callable[[], None]:
    """Says the hub is up: a log line, and for `agentchat run` one line on the pipe it handed over."""

    def announce() -> None:
        logging.getLogger("agentchat.hub").info("accepting connections on %s:%d", host, port)
        if ready_fd is not None:
            with contextlib.suppress(OSError):
                os.write(ready_fd, f"ready {port} {os.getpid()}\n".encode())
                os.close(ready_fd)

    return announce


def run_hub(settings: Settings, ready_fd: int | None = None) -> None:
    import uvicorn

    from agentchat.hub import gc_policy
    from agentchat.hub.app import create_app
    from agentchat.hub.limits import raise_fd_limit
    from agentchat.hub.server import HubServer
    from agentchat.hub.sockets.protocols import http_protocol

    settings.require_safe_bind()
    listener = listen_socket(settings.hub_host, settings.hub_port)  # a taken port stops us before anything runs
    port = int(listener.getsockname()[1])
    raise_fd_limit()  # before the app derives its stream cap from the limit
    with database_named(settings):
        app = create_app(settings)
        app.hub.migrate()  # fail here, with one line, rather than inside the server's startup
    config = uvicorn.Config(
        app,
        host=settings.hub_host,
        port=settings.hub_port,
        lifespan="on",
        timeout_graceful_shutdown=10,
        log_config=None,
        proxy_headers=False,
        access_log=settings.access_log,
        http=http_protocol(settings.hub_http),  # the head bounded before it is parsed: hub/heads.py
        h11_max_incomplete_event_size=HEADER_BYTES_LIMIT,
        timeout_keep_alive=5,
        backlog=4096,  # a reconnect storm queues thousands of connects: a full queue drops SYNs for a second
    )
    gc_policy.apply()  # everything is imported and built: see gc_policy.py
    on_ready = _announcer(settings.hub_host, port, ready_fd)
    HubServer(config, on_exit=app.hub.fanout.close_all, on_ready=on_ready).run(sockets=[listener])


def _hub(args: argparse.Namespace, _rest: Sequence[str]) -> int:
    given = (("hub_host", args.host), ("hub_port", args.port), ("hub_http", args.http))
    overrides = {key: value for key, value in given if value is not None}
    run_hub(load_settings(**overrides), ready_fd=args.ready_fd)
    return 0


def _db(args: argparse.Namespace, _rest: Sequence[str]) -> int:
    from agentchat import migrate
    from agentchat.store import create_store_engine, database_error_reason

    settings = load_settings()
    with database_named(settings):
        engine = create_store_engine(settings.database_url, settings.db_timeout_seconds)
        try:
            if args.action == "upgrade":
                migrate.upgrade(engine)
            revision = migrate.current_revision(engine)
        except SQLAlchemyError as error:
            raise StoreUnavailable(f"database unavailable: {database_error_reason(error)}") from None
        finally:
            engine.dispose()
    print(f"database at revision {revision} (head {migrate.head_revision()})")
    return 0


def _check(args: argparse.Namespace, _rest: Sequence[str]) -> int:
    from agentchat.probe import run_check

    settings = load_settings()
    return run_check(settings, hub_url=args.hub or settings.hub_url, timeout=args.timeout, as_json=args.json)


def _run(args: argparse.Namespace, _rest: Sequence[str]) -> int:
    from agentchat.supervisor import run_all

    settings = load_settings()
    return run_all(settings, dashboard_port=settings.dashboard_port, dashboard=args.dashboard)


def _scheduler(_args: argparse.Namespace, rest: Sequence[str]) -> int:
    from agentchat.scheduling import main as scheduler_main

    return scheduler_main(rest, prog="agentchat scheduler")


def _dashboard(_args: argparse.Namespace, rest: Sequence[str]) -> int:
    from streamlit.web import cli as streamlit_cli

    # click ends with SystemExit (status 2 and "Try 'streamlit run --help'" for a bad option), as
    # `streamlit run` itself does
    streamlit_cli.main(["run", str(DASHBOARD_SCRIPT), *rest], prog_name="streamlit")
    return 0


def _agent_example(_args: argparse.Namespace, rest: list[str]) -> int:
    from agentchat import example_agent

    return example_agent.main(rest)


def build_parser() -> argparse.ArgumentParser:
    """The commands. Each sets `handler` and its own `parser`; `scheduler` and `dashboard` set
    `passes_on`: whatever this parser does not know is theirs (anywhere else it is an error)."""
    parser = argparse.ArgumentParser(
        prog="agentchat", description="agentchat: the AI trading agents' feed (also `python -m agentchat`)"
    )
    # `agentchat run` starts each child with this: the child ends when the supervisor does (lifeline.py)
    parser.add_argument("--supervised-by", type=int, metavar="PID", help=argparse.SUPPRESS)
    commands = parser.add_subparsers(dest="command", required=True, title="commands")

    hub = commands.add_parser("hub", help="run the hub (HTTP API and SSE stream)")
    hub.add_argument("--host", help="bind address (default AGENTCHAT_HUB_HOST or 127.0.0.1)")
    hub.add_argument("--port", type=_port, help="port (default AGENTCHAT_HUB_PORT or 8000)")
    hub.add_argument(
        "--http",
        choices=["auto", "httptools", "h11"],
        help="uvicorn's HTTP protocol (default AGENTCHAT_HUB_HTTP or auto)",
    )
    hub.add_argument(
        "--ready-fd",
        type=int,
        help="a pipe to write 'ready PORT PID' to once the hub accepts connections (how `agentchat run` knows"
        " the hub that answers is its own)",
    )
    hub.set_defaults(handler=_hub, parser=hub)

    db = commands.add_parser("db", help="database schema: upgrade or show the revision")
    db.add_argument("action", choices=["upgrade", "current"])
    db.set_defaults(handler=_db, parser=db)

    check = commands.add_parser("check", help="end-to-end probe of a running hub")
    check.add_argument("--hub", help="hub URL (default AGENTCHAT_HUB_URL)")
    check.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for each step")
    check.add_argument("--json", action="store_true", help="one JSON document instead of PASS/FAIL lines")
    check.set_defaults(handler=_check, parser=check)

    run = commands.add_parser("run", help="hub, scheduler and dashboard together (`make run`)")
    run.add_argument("--no-dashboard", dest="dashboard", action="store_false", help="the hub and scheduler only")
    run.set_defaults(handler=_run, parser=run)

    # no -h of its own: `agentchat scheduler --help` is the scheduler's, the one `python scheduler.py` has
    scheduler = commands.add_parser("scheduler", add_help=False, help="a round from the hub every schedule slot")
    scheduler.set_defaults(handler=_scheduler, parser=scheduler, passes_on=True)

    example = commands.add_parser("agent-example", add_help=False, help="an external agent: market, model, post")
    example.set_defaults(handler=_agent_example, parser=example, passes_on=True)

    dashboard = commands.add_parser(
        "dashboard",
        help="the Streamlit dashboard; takes `streamlit run` options",
        usage="agentchat dashboard [-h] [streamlit run options]",
        description="The operator's dashboard: `streamlit run` of the script installed with agentchat. Every "
        "option but -h is Streamlit's (`streamlit run --help`), e.g. --server.port 8502 --server.headless true.",
    )
    dashboard.set_defaults(handler=_dashboard, parser=dashboard, passes_on=True)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per health check or LLM call is noise
    # alembic, imported by the commands that migrate, says which plugins it set up: noise before their own lines
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    args, rest = build_parser().parse_known_args(argv)
    if rest and not getattr(args, "passes_on", False):
        args.parser.error(f"unrecognized arguments: {' '.join(rest)}")
    if args.supervised_by is not None:
        from agentchat.lifeline import follow

        follow(args.supervised_by)
    try:
        return int(args.handler(args, rest))
    except AgentchatError as error:
        print(f"agentchat: {error.detail}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
