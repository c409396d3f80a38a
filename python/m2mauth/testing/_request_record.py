"""What the local provider remembers of each request: :class:`RecordedRequest`, secrets redacted."""

from __future__ import annotations

from dataclasses import dataclass

from ._faults import Fault
from ._http import Request, Response, redact_header, redact_pairs
from ._routes import Route


@dataclass(frozen=True)
class RecordedRequest:
    """One request the provider received, with every secret redacted.

    ``headers`` keep their order; an ``Authorization`` value keeps only its scheme
    (``"Basic [REDACTED]"``). ``form`` is the body's form fields in order (empty when the
    body is not form data) and ``query`` the query string's; the values of ``assertion``,
    ``client_assertion``, ``client_secret``, ``password``, ``refresh_token``,
    ``refreshToken`` and ``device_code`` read ``[REDACTED]``.
    """

    method: str
    path: str
    headers: tuple[tuple[str, str], ...]
    content_type: str | None
    form: tuple[tuple[str, str], ...]
    query: tuple[tuple[str, str], ...] = ()
    profile: str | None = None
    token_endpoint: bool = False
    status: int | None = None  # None: the connection was reset without an answer
    fault: str | None = None

    def header(self, name: str) -> str | None:
        """The first (redacted) value of header ``name``, case-insensitively."""
        wanted = name.lower()
        for key, value in self.headers:
            if key.lower() == wanted:
                return value
        return None

    def field(self, name: str) -> str | None:
        """The first (redacted) value of form field ``name``."""
        for key, value in self.form:
            if key == name:
                return value
        return None


def record_of(req: Request, route: Route | None, fault: Fault | None, response: Response) -> RecordedRequest:
    """The redacted record of ``req``, answered by ``route`` (None: no endpoint) with ``response``."""
    pairs = req.form_pairs() if req.method != "GET" else None
    return RecordedRequest(
        method=req.method,
        path=req.path,
        headers=tuple((name, redact_header(name, value)) for name, value in req.headers),
        content_type=req.header("Content-Type"),
        form=redact_pairs(pairs or ()),
        query=redact_pairs(req.query),
        profile=route.profile if route else None,
        token_endpoint=bool(route and route.token_endpoint),
        status=None if response.reset else response.status,
        fault=fault.kind if fault else None,
    )
