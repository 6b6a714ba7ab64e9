"""Cancel that reaches into a request: a stalled connection is shut down within a fraction of a second.

A request runs inside a Watch (watching(cancelled)); the connection pools register every connection they hand
out to the watch of the thread asking for it (WatchedPoolMixin). One daemon thread checks the active watches
every POLL seconds and, once a watch's cancelled() turns true, shuts down its sockets: a blocked connect, send or
read returns at once, and the client turns what it raises into CancelledError.
"""

from __future__ import annotations

import socket
import threading
import time
from contextlib import contextmanager

POLL = 0.1

_local = threading.local()
_cond = threading.Condition()
_watches = set()
_thread = None


class RequestCancelled(Exception):
    """Raised inside urllib3 (retry bookkeeping, back-off sleeps) when the watch of the request was cancelled."""


class Watch:
    """The cancel check of the requests made in one thread, and the connections they use."""

    def __init__(self, cancelled):
        self.checks = [cancelled]
        self.connections = []
        self.fired = False

    def check(self):
        """True once cancelled (then every connection of the watch is shut down)."""
        if not self.fired:
            try:
                fired = any(check() for check in list(self.checks))
            except Exception:  # noqa: BLE001 - a feedback that is gone counts as not cancelled
                fired = False
            if fired:
                self.fired = True
                for conn in list(self.connections):
                    abort(conn)
        return self.fired


def abort(conn):
    """Shut the socket of a connection down (a blocked call on it returns at once)."""
    sock = getattr(conn, "sock", None)
    if sock is None:
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def current():
    """The watch of the calling thread, or None."""
    return getattr(_local, "watch", None)


def cancelled_now():
    """True when the calling thread's requests are cancelled."""
    watch = current()
    return watch is not None and watch.check()


@contextmanager
def watching(cancelled):
    """Requests made inside are aborted when cancelled() turns true; nested uses share the outer watch (a
    streamed body read after the request stays covered)."""
    outer = current()
    if outer is not None:
        added = cancelled is not None and cancelled not in outer.checks
        if added:
            outer.checks.append(cancelled)
        try:
            yield outer
        finally:
            if added:
                outer.checks.remove(cancelled)
        return
    if cancelled is None:
        yield None
        return
    watch = Watch(cancelled)
    _local.watch = watch
    with _cond:
        _watches.add(watch)
        _start_thread()
        _cond.notify_all()
    try:
        yield watch
    finally:
        _local.watch = outer
        with _cond:
            _watches.discard(watch)


def attach(conn):
    """Register a connection with the calling thread's watch (aborted at once if already cancelled)."""
    watch = current()
    if watch is None:
        return
    watch.connections.append(conn)
    if watch.fired:
        abort(conn)


def sleep(seconds):
    """time.sleep that ends early with RequestCancelled when the calling thread's requests are cancelled."""
    deadline = time.monotonic() + max(0.0, seconds)
    while True:
        if cancelled_now():
            raise RequestCancelled()
        left = deadline - time.monotonic()
        if left <= 0:
            return
        time.sleep(min(POLL, left))


def _start_thread():
    global _thread
    if _thread is None or not _thread.is_alive():
        _thread = threading.Thread(target=_run, name="mapbridge-cancel-watch", daemon=True)
        _thread.start()


def _run():
    while True:
        with _cond:
            while not _watches:
                _cond.wait()
            watches = list(_watches)
        for watch in watches:
            watch.check()
        time.sleep(POLL)


class WatchedPoolMixin:
    """Connection pool part: every connection handed out joins the watch of the thread that asked for it."""

    def _get_conn(self, timeout=None):
        conn = super()._get_conn(timeout)
        attach(conn)
        return conn
