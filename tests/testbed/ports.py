# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Free loopback ports, picked at run time.

A port is found by binding port 0 and closing the socket again, so another process
could still take it before our server binds; the servers started here bind within
milliseconds, and ports already handed out by this process are never handed out again.
"""

import socket
import threading

_given = set()
_lock = threading.Lock()


def _bind(kind, host, port):
    """Bind a socket of `kind` to (host, port) and return it (caller closes it)."""
    sock = socket.socket(socket.AF_INET, kind)
    try:
        # No SO_REUSEADDR: we want to know the port is really unused.
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def _pick(kinds, host, attempts=50):
    for _attempt in range(attempts):
        first = _bind(kinds[0], host, 0)
        port = first.getsockname()[1]
        others = []
        try:
            for kind in kinds[1:]:
                others.append(_bind(kind, host, port))
        except OSError:
            continue  # taken on the other protocol: try another number
        finally:
            first.close()
            for sock in others:
                sock.close()
        with _lock:
            if port in _given:
                continue
            _given.add(port)
        return port
    raise RuntimeError('no free %s port on %s after %d attempts'
                       % ('+'.join('tcp' if k == socket.SOCK_STREAM else 'udp' for k in kinds),
                          host, attempts))


def free_tcp_port(host='127.0.0.1'):
    """A TCP port free on `host`."""
    return _pick([socket.SOCK_STREAM], host)


def free_udp_port(host='127.0.0.1'):
    """A UDP port free on `host`."""
    return _pick([socket.SOCK_DGRAM], host)


def free_tcp_udp_port(host='127.0.0.1'):
    """A port free on `host` for both TCP and UDP (a DNS server listens on both)."""
    return _pick([socket.SOCK_STREAM, socket.SOCK_DGRAM], host)
