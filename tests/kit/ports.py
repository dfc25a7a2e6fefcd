"""Ports for the servers a test starts: a block of its own per test process, and sockets bound here.

A hub binds port 0 and the test reads the port back (`InProcessHub`: a socket bound here and handed to
uvicorn; `HubProcess`: `--port 0` and the port its log names), so no port is checked free and bound later.
What cannot bind port 0 (Streamlit, nginx, a hub told a port it must come back on) takes a port from
`free_port`: each pytest-xdist worker hands out ports from its own block below the kernel's ephemeral
range (32768-60999), which port-0 binds never reach, starting at a random place in its block so that
two suites on one machine seldom meet.
"""

from __future__ import annotations

import os
import random
import socket
import threading

PORT_BLOCK_START = 20_000
PORT_BLOCK_SIZE = 2_000
_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
_worker_index = int(_worker[2:]) if _worker.startswith("gw") and _worker[2:].isdigit() else 0
_port_lock = threading.Lock()
_port_offset = random.randrange(PORT_BLOCK_SIZE)


def free_port() -> int:
    """A port nothing listens on now, from this test process's own block (no other test process is given it)."""
    global _port_offset
    block = PORT_BLOCK_START + (_worker_index % ((32_768 - PORT_BLOCK_START) // PORT_BLOCK_SIZE)) * PORT_BLOCK_SIZE
    with _port_lock:
        for _ in range(PORT_BLOCK_SIZE):
            port = block + _port_offset
            _port_offset = (_port_offset + 1) % PORT_BLOCK_SIZE
            with socket.socket() as probe:
                try:
                    probe.bind(("127.0.0.1", port))
                except OSError:
                    continue  # in use (or lingering in TIME_WAIT): the next one
                return port
    raise AssertionError(f"no free port in {block}-{block + PORT_BLOCK_SIZE - 1}")


def bound_socket(port: int = 0) -> socket.socket:
    """A listening-ready TCP socket on loopback, bound here (port 0: the kernel's choice), for uvicorn to serve."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds: a port in TIME_WAIT is reusable
    try:
        sock.bind(("127.0.0.1", port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock
