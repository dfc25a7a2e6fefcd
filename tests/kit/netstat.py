"""The TCP sockets listening on a port, as the kernel tells it: which addresses a server really bound, and how
many connections it has not accepted yet."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator

LISTEN = "0A"  # the state column's value for a listening socket


def _listening_rows(port: int) -> Iterator[tuple[int, list[str]]]:
    """(address family, columns) of each socket listening on `port` (/proc/net/tcp, tcp6)."""
    for table, family in (("/proc/net/tcp", socket.AF_INET), ("/proc/net/tcp6", socket.AF_INET6)):
        with contextlib.suppress(FileNotFoundError), open(table) as rows:
            for row in list(rows)[1:]:
                columns = row.split()
                if columns[3] == LISTEN and int(columns[1].partition(":")[2], 16) == port:
                    yield family, columns


def listening_addresses(port: int) -> set[str]:
    """The local addresses of the TCP sockets listening on `port`."""
    found: set[str] = set()
    for family, columns in _listening_rows(port):
        raw = bytes.fromhex(columns[1].partition(":")[0])  # 32-bit words in host (little-endian) order
        packed = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
        found.add(socket.inet_ntop(family, packed))
    return found


def accept_backlog(port: int) -> int:
    """Connections the kernel completed on `port` that the server has not accepted yet (a listener's rx_queue)."""
    return sum(int(columns[4].partition(":")[2], 16) for _family, columns in _listening_rows(port))
