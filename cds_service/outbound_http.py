"""Outbound HTTP with wall-clock deadlines: FHIR reads, capability statements, JWKS documents.

``requests`` timeouts bound each socket operation, not a request: a peer that trickles one byte
per second never trips them and can hold a worker for minutes. Here every request made inside
``with deadline(at):`` is bounded by the wall clock, connection set-up, TLS handshake, headers and
body included. The sessions from :func:`deadline_session` use connection classes that register
their socket with one process-wide reaper thread for as long as a deadline is armed on them; when
the deadline passes, the reaper shuts the socket down, the blocked read returns at once and the
caller sees :class:`DeadlineExceeded` (a ``requests.Timeout``).

A session never reads proxies or ``~/.netrc`` credentials from the environment.
"""

from __future__ import annotations

import heapq
import http.client
import http.cookiejar
import itertools
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import requests
import urllib3.exceptions
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool


class DeadlineExceeded(requests.Timeout):
    """The wall-clock deadline of an outbound request passed before it completed."""


class Deadline:
    """An absolute point on the monotonic clock, shared by every connection armed with it."""

    __slots__ = ("at", "expired")

    def __init__(self, at: float) -> None:
        self.at = at
        self.expired = False

    def remaining(self) -> float:
        return self.at - time.monotonic()


_current = threading.local()


@contextmanager
def deadline(seconds: float) -> Iterator[Deadline]:
    """Bound every request this thread makes inside the block (through a deadline session).

    Raises :class:`DeadlineExceeded` if the block ends by an error after the deadline passed
    (whatever the error the interrupted read produced), so callers see one kind of failure.
    """
    current = Deadline(time.monotonic() + max(seconds, 0.0))
    previous = getattr(_current, "deadline", None)
    _current.deadline = current
    try:
        yield current
    except (requests.RequestException, urllib3.exceptions.HTTPError, http.client.HTTPException, OSError) as exc:
        if current.expired or current.remaining() <= 0:
            raise DeadlineExceeded(f"deadline of {seconds:.1f} s exceeded") from exc
        raise
    finally:
        _current.deadline = previous
        _REAPER.disarm_all(current)


class _Watch:
    """What the reaper may shut down for one connection, and the deadline it is armed with.

    After connecting, the socket object itself (plain or TLS): once really closed its descriptor
    is -1, so a late shutdown can only fail, never hit a descriptor reused elsewhere. While
    connecting (TCP and TLS handshake: the TLS wrapper detaches the plain socket and is only
    handed over afterwards), a duplicate of the descriptor that this watch owns.
    """

    __slots__ = ("lock", "sock", "connecting_fd", "armed")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sock: socket.socket | None = None
        self.connecting_fd: int | None = None
        self.armed: Deadline | None = None

    def set_connecting(self, sock: socket.socket) -> None:
        with self.lock:
            self._drop_fd()
            self.sock = None
            self.connecting_fd = os.dup(sock.fileno())

    def set_connected(self, sock: socket.socket | None) -> None:
        with self.lock:
            self._drop_fd()
            self.sock = sock

    def _drop_fd(self) -> None:
        if self.connecting_fd is not None:
            os.close(self.connecting_fd)
            self.connecting_fd = None


class _Reaper:
    """One daemon thread that shuts down sockets whose deadline has passed."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, _Watch, Deadline]] = []
        self._by_deadline: dict[int, list[_Watch]] = {}
        self._sequence = itertools.count()
        self._condition = threading.Condition()
        self._thread: threading.Thread | None = None

    def arm(self, watch: _Watch) -> None:
        current: Deadline | None = getattr(_current, "deadline", None)
        if current is None:
            return
        with watch.lock:
            if watch.armed is current:
                return
            watch.armed = current
        with self._condition:
            heapq.heappush(self._heap, (current.at, next(self._sequence), watch, current))
            self._by_deadline.setdefault(id(current), []).append(watch)
            self._start()
            if self._heap[0][3] is current:
                self._condition.notify()  # only an earlier deadline changes how long the reaper sleeps

    def disarm_all(self, current: Deadline) -> None:
        with self._condition:
            watches = self._by_deadline.pop(id(current), [])
        for watch in watches:
            with watch.lock:
                if watch.armed is current:
                    watch.armed = None

    def _start(self) -> None:
        # A fork (gunicorn workers) leaves no thread behind: start one in this process when needed.
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="outbound-deadlines", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            with self._condition:
                while not self._heap:
                    self._condition.wait()
                at, _, watch, current = self._heap[0]
                wait = at - time.monotonic()
                if wait > 0:
                    self._condition.wait(timeout=wait)
                    continue
                heapq.heappop(self._heap)
            _expire(watch, current)


def _expire(watch: _Watch, current: Deadline) -> None:
    with watch.lock:
        if watch.armed is not current:
            return  # the request finished in time
        current.expired = True
        # shutdown() wakes every blocked read or handshake on the socket at once.
        try:
            if watch.sock is not None:
                socket.socket.shutdown(watch.sock, socket.SHUT_RDWR)
            elif watch.connecting_fd is not None:
                probe = socket.socket(fileno=watch.connecting_fd)
                try:
                    probe.shutdown(socket.SHUT_RDWR)
                finally:
                    probe.detach()
        except OSError:
            pass  # already closed


_REAPER = _Reaper()


class _DeadlineConnectionMixin:
    """Arms the thread's deadline on the connection for connect, handshake and each request."""

    _watch: _Watch
    sock: socket.socket | None

    def _init_watch(self) -> None:
        self._watch = _Watch()

    def _new_conn(self) -> socket.socket:
        sock: socket.socket = super()._new_conn()  # type: ignore[misc]
        self._watch.set_connecting(sock)
        _REAPER.arm(self._watch)  # before any TLS handshake byte is read
        return sock

    def connect(self) -> None:
        try:
            super().connect()  # type: ignore[misc]
        finally:
            self._watch.set_connected(self.sock)

    def request(self, *args: Any, **kwargs: Any) -> None:
        _REAPER.arm(self._watch)
        super().request(*args, **kwargs)  # type: ignore[misc]


class _DeadlineHTTPConnection(_DeadlineConnectionMixin, HTTPConnection):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._init_watch()
        super().__init__(*args, **kwargs)


class _DeadlineHTTPSConnection(_DeadlineConnectionMixin, HTTPSConnection):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._init_watch()
        super().__init__(*args, **kwargs)


class _DeadlineHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = _DeadlineHTTPConnection


class _DeadlineHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = _DeadlineHTTPSConnection


class _DeadlineAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _DeadlineHTTPConnectionPool,
            "https": _DeadlineHTTPSConnectionPool,
        }


def deadline_session(pool_size: int = 10) -> requests.Session:
    """A Session whose requests honour :func:`deadline`; no environment proxies or credentials,
    no cookies kept (nothing one call receives may reach another)."""
    session = requests.Session()
    session.trust_env = False
    session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
    adapter = _DeadlineAdapter(pool_connections=16, pool_maxsize=pool_size)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def shared_session_factory(pool_size: int) -> Callable[[], requests.Session]:
    """A factory handing every caller in this process the same deadline session.

    Connections (and their TLS handshakes) to a FHIR server then outlive one hook call: the next
    call to that server starts without connecting. It is safe to share because nothing
    call-specific is kept in it: tokens travel in per-request headers and cookies are refused.
    A forked worker builds its own (connections are never shared across processes).
    """
    lock = threading.Lock()
    held: dict[int, requests.Session] = {}

    def factory() -> requests.Session:
        pid = os.getpid()
        session = held.get(pid)
        if session is None:
            with lock:
                session = held.get(pid)
                if session is None:
                    held.clear()
                    session = held[pid] = deadline_session(pool_size)
        return session

    return factory
