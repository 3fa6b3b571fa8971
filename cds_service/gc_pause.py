"""The cyclic garbage collector paused while a hook call builds and walks its request.

A hook request of 1-50 MB becomes 10^4-10^6 dicts and lists (the parsed JSON) plus the index,
facts and cards built from it: none of it is cyclic, all of it is freed by reference counting
when the call ends (``cds_service.app`` frees the parsed request after sending the answer).
While that tree is alive, every young-generation collection walks it anyway, and each object
that survives one is walked again by the older generations: 25-40 % of the parse time of a
large request, for nothing. So the collector is paused for the duration of a call and resumed
once the request is freed, when the young generation is back to what it was.

Calls may overlap (threaded workers): the collector is paused while at least one call runs and
resumed when the last one ends. If calls overlap without a gap for long, the young generation is
collected anyway once ``BACKSTOP_FACTOR`` times its threshold of new objects has accumulated, so
cyclic garbage of other code (exceptions, frames) cannot pile up. A collector disabled by
someone else stays disabled.
"""

from __future__ import annotations

import gc
import threading
import weakref
from typing import Any

BACKSTOP_FACTOR = 40

_lock = threading.Lock()
_active = 0
_resume_to_enabled = False


class Pause:
    """One call's share of the pause; :meth:`resume` is idempotent."""

    __slots__ = ("__weakref__", "_done")

    def __init__(self) -> None:
        self._done = False

    def resume(self) -> None:
        global _active
        with _lock:
            if self._done:
                return
            self._done = True
            _active -= 1
            last = _active == 0
            if last and _resume_to_enabled:
                gc.enable()
        if not last and gc.get_count()[0] > BACKSTOP_FACTOR * gc.get_threshold()[0]:
            gc.collect(0)

    def resume_with(self, owner: Any) -> None:
        """Also resume when ``owner`` is freed (a response nobody closes)."""
        weakref.finalize(owner, self.resume)


def pause() -> Pause:
    """Pause the collector for one call; call ``resume()`` on the result when the call is over."""
    global _active, _resume_to_enabled
    with _lock:
        if _active == 0:
            _resume_to_enabled = gc.isenabled()
            gc.disable()
        _active += 1
    return Pause()


def active_calls() -> int:
    return _active
