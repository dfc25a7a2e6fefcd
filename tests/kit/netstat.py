"""Which addresses listen on a port, as the kernel tells it: what a bind test checks a server really bound."""

from __future__ import annotations

import contextlib
import socket


def listening_addresses(port: int) -> set[str]:
    """The local addresses of the TCP sockets listening on `port`, read from the kernel (/proc/net/tcp, tcp6)."""
    found: set[str] = set()
    for table, family in (("/proc/net/tcp", socket.AF_INET), ("/proc/net/tcp6", socket.AF_INET6)):
        with contextlib.suppress(FileNotFoundError), open(table) as rows:
            for row in list(rows)[1:]:
                local, state = row.split()[1], row.split()[3]
                address, _, port_hex = local.partition(":")
                if state != "0A" or int(port_hex, 16) != port:  # 0A: LISTEN
                    continue
                raw = bytes.fromhex(address)  # 32-bit words in host (little-endian) order
                packed = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
                found.add(socket.inet_ntop(family, packed))
    return found
