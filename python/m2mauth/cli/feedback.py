"""What the CLI shows on stderr while it works: progress of slow waits and the library's warnings.

A wait over about two seconds (a slow token endpoint, the backoff before a retry, another process's
lock on the token store, a device login waiting for approval) is shown as one line rewritten in
place when stderr is a terminal, and as an INFO log line otherwise (a CI log, a file); ``--quiet``
turns both off. The library's warnings (a secret with stray whitespace, a refresh token about to
expire) are printed as ``warning: ...``. Everything passes the console's secret filter.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import sys
from collections.abc import Iterator

from .. import progress
from .common import Console

#: The library's logger, and the one progress records go to (see m2mauth.progress).
LIBRARY_LOGGER = "m2mauth"


class ConsoleHandler(logging.Handler):
    """Log records written through the console (secrets masked), one line each."""

    def __init__(self, console: Console, level: int, prefix: str) -> None:
        super().__init__(level)
        self.console, self.prefix = console, prefix

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.console.err(self.prefix + record.getMessage())
        except Exception:  # noqa: BLE001 - logging must never break the command (logging's own rule)
            self.handleError(record)


def _is_terminal(stream: object) -> bool:
    try:
        return bool(getattr(stream, "isatty", lambda: False)())
    except (OSError, ValueError):
        return False


@contextlib.contextmanager
def shown(args: argparse.Namespace, console: Console) -> Iterator[None]:
    """Around a command: install the progress reporter (unless --quiet) and print the library's warnings."""
    quiet = bool(getattr(args, "quiet", False))
    library = logging.getLogger(LIBRARY_LOGGER)
    progress_logger = progress.log
    warnings = ConsoleHandler(console, logging.WARNING, "warning: ")
    infos = ConsoleHandler(console, logging.INFO, "")
    reporter: progress.Reporter | None = None
    saved_level = progress_logger.level
    if not quiet:
        if _is_terminal(sys.stderr):
            reporter = progress.StatusLine(sys.stderr)
        else:
            reporter = progress.LogLines(progress_logger)
            progress_logger.setLevel(logging.INFO)
            # Progress records reach the "m2mauth" handler too, which lets only warnings through.
            progress_logger.addHandler(infos)
    library.addHandler(warnings)
    try:
        with progress.install(reporter):
            yield
    finally:
        library.removeHandler(warnings)
        progress_logger.removeHandler(infos)
        progress_logger.setLevel(saved_level)


class DeviceOutput(io.TextIOBase):
    """The stream a device login writes to: its ``\\r`` countdown ("Waiting for approval... 9:41 left")
    becomes the progress line (dropped with --quiet), every other line goes to stderr as written."""

    def __init__(self, console: Console, quiet: bool) -> None:
        super().__init__()
        self.console, self.quiet = console, quiet
        self._status = False

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if text.startswith("\r"):
            if not self.quiet:
                progress.report(text.strip())
            self._status = True
            return len(text)
        if self._status:  # the newline that ended the countdown line on a plain stream
            text = text.lstrip("\n")
            self._status = False
        for line in text.splitlines():
            self.console.err(line)
        return len(text)
