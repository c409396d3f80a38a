"""The faults :meth:`LocalProvider.set_fault` queues, and the canned answer of each.

A fault stands in for what goes wrong between a client and a real token endpoint: rate limiting
(429 with ``Retry-After``), an unavailable service (503), a slow answer, a proxy's HTML error
page, a JSON body cut short, or a connection reset without any answer.
"""

from __future__ import annotations

import http
import secrets
from dataclasses import dataclass

from ._http import Response, json_response

FAULT_KINDS: tuple[str, ...] = ("429", "503", "slow", "html", "truncated_json", "reset")
MAX_FAULT_DELAY = 30.0  # seconds; every sleep of the server is bounded by this


@dataclass
class Fault:
    """One queued fault; it is used up after ``remaining`` token requests."""

    kind: str
    remaining: int
    status: int | None
    retry_after: str | None
    delay: float


_HTML_PAGE = """<html>
<head><title>{status} {phrase}</title></head>
<body>
<center><h1>{status} {phrase}</h1></center>
<hr><center>nginx</center>
</body>
</html>
"""


def fault_response(fault: Fault) -> Response:
    """The canned answer of a fault (everything but ``slow``)."""
    if fault.kind == "reset":
        return Response(status=0, reset=True)
    if fault.kind == "html":
        status = fault.status or 502
        page = _HTML_PAGE.format(status=status, phrase=_phrase(status))
        return Response(status, page.encode("ascii"), "text/html")
    if fault.kind == "truncated_json":
        body = ('{"access_token": "' + secrets.token_urlsafe(12)).encode("ascii")
        return Response(fault.status or 200, body, "application/json")
    headers: tuple[tuple[str, str], ...] = ()
    if fault.kind == "429":
        retry_after = fault.retry_after if fault.retry_after is not None else "1"
        headers = (("Retry-After", retry_after),)
        payload = {
            "error": "too_many_requests",
            "error_description": f"Rate limit exceeded; retry after {retry_after}",
        }
        return json_response(fault.status or 429, payload, headers=headers)
    if fault.retry_after is not None:
        headers = (("Retry-After", fault.retry_after),)
    payload = {
        "error": "temporarily_unavailable",
        "error_description": "The service is temporarily unavailable",
    }
    return json_response(fault.status or 503, payload, headers=headers)


def _phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Error"
