"""A loopback HTTP peer that answers one byte at a time (import as ``from trickling_peer import ...``).

For deadline tests: a server that keeps sending, slowly, defeats per-read socket timeouts; only a
wall-clock deadline ends the request.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def trickling_peer(at_once: bytes, trickled: bytes, interval_s: float) -> Iterator[int]:
    """Listen on a free loopback port (yielded); to every request send ``at_once`` and then
    ``trickled`` one byte per ``interval_s``. Each connection gets its own thread."""
    stop = threading.Event()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.2)

    def answer(conn: socket.socket) -> None:
        with conn:
            try:
                conn.recv(65536)
                if at_once:
                    conn.sendall(at_once)
                for byte in trickled:
                    if stop.wait(interval_s):
                        return
                    conn.send(bytes([byte]))
            except OSError:
                return

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            threading.Thread(target=answer, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        listener.close()
