"""Progress of slow waits: what the command line shows while m2mauth waits for something.

The I/O layer marks the waits that may be long — a token endpoint that is slow to answer, the
backoff before a retry, another process's lock on the token store — with :func:`waiting` (or
:func:`slow`, its decorator form), and reports a state that lasts, such as a device login waiting
for approval, with :func:`report`. Neither does anything unless a reporter is installed with
:func:`install`, which only the CLI does: a library call stays silent and pays one global read.

A reporter shows a wait only once it has lasted :data:`SHOW_AFTER` seconds, so quick answers
print nothing. :class:`StatusLine` is for a terminal: one line, rewritten in place with the time
waited so far, and cleared when the wait ends. :class:`LogLines` is for anything else (a CI log,
a file): one INFO record per wait on the ``m2mauth.progress`` logger.

The installed reporter is process-wide rather than context-local on purpose: a wait may happen
in a thread other than the one that installed it (a TokenSource refresh, a worker), and the
terminal it writes to is process-wide too. Every method is thread-safe.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TextIO, TypeVar
from urllib.parse import urlsplit

__all__ = [
    "SHOW_AFTER",
    "LogLines",
    "Reporter",
    "StatusLine",
    "clear",
    "install",
    "installed",
    "report",
    "slow",
    "waiting",
    "waits_for_answer",
]

#: Seconds a wait lasts before it is shown ("about 2 s": shorter waits are not worth a line).
SHOW_AFTER = 2.0
#: How often a shown wait is redrawn with the time waited so far.
TICK = 0.5

log = logging.getLogger("m2mauth.progress")
F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class _Wait:
    message: str
    after: float
    started: float = field(default_factory=time.monotonic)
    shown: bool = False


class Reporter:
    """Keeps the waits in progress (innermost last) and a ticker thread that shows them once they are slow.

    Subclasses say how a wait looks: :meth:`show` (the wait has lasted ``seconds``), :meth:`hide` (it
    ended after being shown) and :meth:`note` (a lasting state from :func:`report`).
    """

    def __init__(self, *, after: float = SHOW_AFTER, tick: float = TICK) -> None:
        self.after, self.tick = after, tick
        self._lock = threading.RLock()
        self._waits: list[_Wait] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- called by the I/O layer (through waiting() and report()) ---------------------------

    def begin(self, message: str, after: float | None = None) -> _Wait:
        wait = _Wait(message, self.after if after is None else after)
        with self._lock:
            self._waits.append(wait)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="m2mauth-progress", daemon=True)
                self._thread.start()
        self._poll()  # a wait with after=0 shows at once
        return wait

    def end(self, wait: _Wait) -> None:
        with self._lock:
            if wait in self._waits:
                self._waits.remove(wait)
            if wait.shown:
                self.hide(wait)

    def report(self, message: str) -> None:
        with self._lock:
            self.note(message)

    # -- the ticker --------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.wait(self.tick):
            self._poll()

    def _poll(self) -> None:
        with self._lock:
            if not self._waits:
                return
            wait = self._waits[-1]
            seconds = time.monotonic() - wait.started
            if seconds >= wait.after:
                self.show(wait, seconds)
                wait.shown = True

    def close(self) -> None:
        """Stop the ticker and take down whatever is shown."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)
        with self._lock:
            for wait in self._waits:
                if wait.shown:
                    self.hide(wait)
            self._waits.clear()
            self.clear()

    # -- how it looks ------------------------------------------------------------------------

    def show(self, wait: _Wait, seconds: float) -> None:
        raise NotImplementedError

    def hide(self, wait: _Wait) -> None:
        """A shown wait is over."""

    def note(self, message: str) -> None:
        raise NotImplementedError

    def clear(self) -> None:
        """Make room for other output on the same stream (a terminal's status line is erased)."""


class StatusLine(Reporter):
    """One line on a terminal, rewritten in place: ``waiting for ... (5 s)``; erased when the wait ends."""

    def __init__(self, stream: TextIO, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.stream = stream
        self._drawn = False

    def _draw(self, text: str) -> None:
        try:
            self.stream.write("\r\x1b[2K" + text)  # \x1b[2K: erase the line (a shorter text leaves no tail)
            self.stream.flush()
            self._drawn = True
        except (OSError, ValueError):  # a closed terminal: progress is not worth an error
            pass

    def show(self, wait: _Wait, seconds: float) -> None:
        self._draw(f"{wait.message} ({int(seconds)} s)")

    def hide(self, wait: _Wait) -> None:
        self.clear()

    def note(self, message: str) -> None:
        self._draw(message)

    def clear(self) -> None:
        with self._lock:
            if self._drawn:
                self._drawn = False
                try:
                    self.stream.write("\r\x1b[2K")
                    self.stream.flush()
                except (OSError, ValueError):
                    pass


class LogLines(Reporter):
    """One INFO record per slow wait on the ``m2mauth.progress`` logger (for a log, not a terminal)."""

    def __init__(self, logger: logging.Logger = log, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.logger = logger
        self._last_note: str | None = None

    def show(self, wait: _Wait, seconds: float) -> None:
        if not wait.shown:
            self.logger.info("%s (%d s so far)", wait.message, int(seconds))

    def note(self, message: str) -> None:
        # A state reported again and again (a countdown) is logged when its words change, not every tick.
        words = "".join(c for c in message if not c.isdigit())
        if words != self._last_note:
            self._last_note = words
            self.logger.info("%s", message)


_installed: Reporter | None = None
_install_lock = threading.Lock()


def installed() -> Reporter | None:
    """The reporter in use, if any."""
    return _installed


@contextlib.contextmanager
def install(reporter: Reporter | None) -> Iterator[Reporter | None]:
    """Show progress with ``reporter`` inside the block (None: show nothing, as outside it)."""
    global _installed
    with _install_lock:
        previous, _installed = _installed, reporter
    try:
        yield reporter
    finally:
        with _install_lock:
            _installed = previous
        if reporter is not None:
            reporter.close()


@contextlib.contextmanager
def waiting(message: str, *, after: float | None = None) -> Iterator[None]:
    """Mark a wait that may be slow: shown after ``after`` seconds (default :data:`SHOW_AFTER`), if a
    reporter is installed."""
    reporter = _installed
    if reporter is None:
        yield
        return
    wait = reporter.begin(message, after)
    try:
        yield
    finally:
        reporter.end(wait)


def report(message: str) -> None:
    """Report a lasting state (shown at once, until the next report or the end of the command)."""
    reporter = _installed
    if reporter is not None:
        reporter.report(message)


def clear() -> None:
    """Erase the status line before other output goes to the same terminal (it is redrawn on the next tick)."""
    reporter = _installed
    if reporter is not None:
        reporter.clear()


def waits_for_answer(function: F) -> F:
    """Decorator for a call that sends a request (its first argument, with a ``url``) and waits for the answer."""

    def describe(request: Any, *args: Any, **kwargs: Any) -> str:
        host = urlsplit(str(getattr(request, "url", ""))).netloc or "the server"
        return f"waiting for an answer from {host}"

    return slow(describe)(function)


def slow(describe: Callable[..., str]) -> Callable[[F], F]:
    """Decorator form of :func:`waiting`: the whole call is a wait, described from its arguments."""

    def decorate(function: F) -> F:
        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if _installed is None:
                return function(*args, **kwargs)
            with waiting(describe(*args, **kwargs)):
                return function(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate
