"""m2mauth.progress: silent unless a reporter is installed; a terminal line that is drawn and erased; one
INFO record per slow wait. ``after=0`` shows a wait at once, so nothing here depends on the clock."""

from __future__ import annotations

import io
import logging
import threading

import pytest

from m2mauth import progress


class Request:
    url = "https://auth.example.org:8443/token"


def test_nothing_happens_without_a_reporter() -> None:
    assert progress.installed() is None
    with progress.waiting("waiting for nothing", after=0):
        pass
    progress.report("a state nobody sees")
    progress.clear()

    @progress.waits_for_answer
    def send(request: Request) -> str:
        return "answer"

    assert send(Request()) == "answer"


def test_a_status_line_is_drawn_updated_and_erased() -> None:
    stream = io.StringIO()
    reporter = progress.StatusLine(stream, after=0)
    with progress.install(reporter):
        assert progress.installed() is reporter
        with progress.waiting("waiting for an answer from auth.example.org"):
            drawn = stream.getvalue()
            assert drawn.startswith("\r\x1b[2Kwaiting for an answer from auth.example.org (0 s)")
        assert stream.getvalue().endswith("\r\x1b[2K")  # erased when the wait ends
        assert "\n" not in stream.getvalue()  # one line, rewritten in place
        progress.report("Waiting for approval... 9:59 left")
        assert stream.getvalue().endswith("\r\x1b[2KWaiting for approval... 9:59 left")
    assert progress.installed() is None
    assert stream.getvalue().endswith("\r\x1b[2K")  # the command's end erases a reported state too


def test_a_quick_wait_shows_nothing() -> None:
    stream = io.StringIO()
    with progress.install(progress.StatusLine(stream, after=3600)), progress.waiting("waiting"):
        pass
    assert stream.getvalue() == ""


def test_log_lines_give_one_info_record_per_wait(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="m2mauth.progress")
    with progress.install(progress.LogLines(after=0)):
        for _ in range(2):
            with progress.waiting("token request failed (server_error); retrying in 3 s"):
                pass
        progress.report("Waiting for approval... 9:59 left")
        progress.report("Waiting for approval... 9:54 left")  # the same state, counting down: not logged again
    messages = [r.getMessage() for r in caplog.records if r.name == "m2mauth.progress"]
    assert messages == [
        "token request failed (server_error); retrying in 3 s (0 s so far)",
        "token request failed (server_error); retrying in 3 s (0 s so far)",
        "Waiting for approval... 9:59 left",
    ]
    assert all(r.levelno == logging.INFO for r in caplog.records if r.name == "m2mauth.progress")


def test_the_decorator_describes_the_request_and_nested_waits_show_the_innermost() -> None:
    stream = io.StringIO()

    @progress.waits_for_answer
    def send(request: Request) -> str:
        return stream.getvalue()

    with progress.install(progress.StatusLine(stream, after=0)), progress.waiting("waiting for a lock"):
        seen = send(Request())
    assert seen.endswith("waiting for an answer from auth.example.org:8443 (0 s)")
    assert "waiting for a lock (0 s)" in seen


def test_waits_in_other_threads_are_reported() -> None:
    """The reporter is process-wide: a refresh in a worker thread is shown as well."""
    stream = io.StringIO()
    with progress.install(progress.StatusLine(stream, after=0)):

        def work() -> None:
            with progress.waiting("waiting in a worker"):
                pass

        worker = threading.Thread(target=work)
        worker.start()
        worker.join(timeout=10)
    assert "waiting in a worker (0 s)" in stream.getvalue()


def test_a_closed_terminal_is_not_an_error() -> None:
    stream = io.StringIO()
    stream.close()
    with progress.install(progress.StatusLine(stream, after=0)), progress.waiting("waiting"):
        progress.report("state")
