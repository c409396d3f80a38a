"""``m2mauth doctor``: a checklist that says, in plain words, why a token request fails and what fixes it.

Every check gives a :class:`Check` — a stable ``name``, a ``status`` (``ok``, ``warn``, ``fail`` or
``skip``), a one-line ``message``, the ``fix`` when something is wrong, the diagnosis ``codes`` and
JSON-safe ``details`` — and :func:`run_doctor` collects them into a :class:`Report` that the CLI
prints (``Report.render``) or serialises (``Report.to_dict``).

The checks that judge data are pure functions of their inputs: :func:`permission_check` (a key
file's mode), :func:`clock_check` (an offset in seconds), :func:`proxy_check` (environment
variables), :func:`findings_check` (an :func:`m2mauth.inspect` diagnosis), :func:`endpoint_check`
(a probe's outcome) and :func:`exchange_check` (a token or an error, explained with the profile).
:func:`run_doctor` does the I/O around them: it reads the key files named, sends one ``HEAD``
request to the token URL (is it reachable, and what time does its ``Date`` header say), and tries
the exchange once — without retries and without touching the token store, so the user sees exactly
what the server answered. A grant the user made elsewhere (``jwt=``, e.g. the httr2 grant of the
CLMS question) is inspected and, with ``send=True``, POSTed as the user would.

Nothing here prints or returns a secret: checks name credentials and environment variables, never
their values; a proxy URL is shown without its user name and password; server answers pass through
the core's redaction.
"""

from __future__ import annotations

import email.utils
import ipaddress
import json
import os
import stat
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from . import grants
from .client_auth import CLIENT_ASSERTION_TYPE
from .credentials import Credentials, resolve_credentials
from .diagnose import CLOCK_LEEWAY, Diagnosis, explain, inspect
from .errors import ConfigError, M2MAuthError, TokenEndpointError, TransportError
from .flows import Plan, plan_request
from .keys import KEY_MATERIAL_HINT, Key, ServiceKey, load_key, load_service_key, looks_like_key_material, secret_key
from .keys import shown_path as _shown
from .profiles import Flow, Profile, load_profile
from .token_request import TokenRequest
from .tokens import Token, parse_token_response
from .transport import check_url, discover, exchange, with_profile_hint

if TYPE_CHECKING:
    import requests

__all__ = [
    "CLOCK_FAIL",
    "CLOCK_WARN",
    "FAIL",
    "OK",
    "SKIP",
    "WARN",
    "Check",
    "Probe",
    "Report",
    "clock_check",
    "endpoint_check",
    "exchange_check",
    "findings_check",
    "permission_check",
    "probe",
    "proxy_check",
    "run_doctor",
    "safe_proxy_url",
]

OK, WARN, FAIL, SKIP = "ok", "warn", "fail", "skip"
STATUSES = (OK, WARN, FAIL, SKIP)
CLOCK_WARN = 30.0  # seconds of offset worth a warning
CLOCK_FAIL = float(CLOCK_LEEWAY)  # the leeway providers allow on iat/exp (CLMS and DT: 60 s)
DEFAULT_TIMEOUT = 10.0
REFRESH_GRANTS = ("refresh_token", "get_refresh")

NTP_FIX = (
    "Sync your computer's clock with NTP: Linux `sudo timedatectl set-ntp true` (or chrony/ntpd), "
    "macOS System Settings > General > Date & Time > 'Set time and date automatically', "
    "Windows `w32tm /resync`; https://time.is shows how far off it is."
)

TITLES = {
    "credentials": "credentials",
    "key_file": "key file",
    "key_permissions": "key permissions",
    "key": "key & algorithm",
    "discovery": "OIDC discovery",
    "request": "token request",
    "claims": "grant claims",
    "grant": "your grant",
    "clock": "clock",
    "proxy": "proxy",
    "endpoint": "endpoint",
    "exchange": "exchange",
}
SYMBOLS = {OK: "✓", WARN: "!", FAIL: "✗", SKIP: "·"}
ASCII_SYMBOLS = {OK: "+", WARN: "!", FAIL: "x", SKIP: "-"}

_PROXY_VARIABLES = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY")
_CA_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")  # the ones requests reads, in its order


@dataclass(frozen=True)
class Check:
    """One line of the checklist."""

    name: str
    status: str
    message: str
    fix: str | None = None
    codes: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()  # further lines shown under the message (one finding each)
    details: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"unknown check status {self.status!r}")

    @property
    def title(self) -> str:
        return TITLES.get(self.name, self.name.replace("_", " "))

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "title": self.title,
            "message": self.message,
            "fix": self.fix,
            "codes": list(self.codes),
            "notes": list(self.notes),
            "details": dict(self.details),
        }


@dataclass(frozen=True)
class Report:
    """The checklist of one doctor run."""

    profile: str
    checks: tuple[Check, ...]
    flow: str | None = None
    token_url: str | None = None
    mode: str = "credentials"  # or "jwt": a grant given by the user is diagnosed

    @property
    def ok(self) -> bool:
        return not any(c.status == FAIL for c in self.checks)

    def check(self, name: str) -> Check | None:
        return next((c for c in self.checks if c.name == name), None)

    def codes(self) -> list[str]:
        """Every diagnosis code of every check, in order."""
        return [code for c in self.checks for code in c.codes]

    def to_dict(self) -> dict[str, Any]:
        return {
            "profile": self.profile,
            "flow": self.flow,
            "token_url": self.token_url,
            "mode": self.mode,
            "ok": self.ok,
            "failed": [c.name for c in self.checks if c.status == FAIL],
            "warnings": [c.name for c in self.checks if c.status == WARN],
            "checks": [c.to_dict() for c in self.checks],
        }

    def render(self, *, ascii_only: bool = False) -> str:
        symbols = ASCII_SYMBOLS if ascii_only else SYMBOLS
        head = f"m2mauth doctor: {self.profile}"
        if self.flow:
            head += f", flow {self.flow}"
        if self.token_url:
            head += f", token URL {self.token_url}"
        lines = [head]
        width = max((len(c.title) for c in self.checks), default=10)
        for check in self.checks:
            lines.append(f" {symbols[check.status]} {check.title:<{width}}  {check.message}")
            lines += [f"     {note}" for note in check.notes]
            lines += [f"     fix: {fix}" for fix in (check.fix or "").split("\n") if fix]
        failed = [c.title for c in self.checks if c.status == FAIL]
        warned = [c.title for c in self.checks if c.status == WARN]
        if failed:
            lines.append(f"{len(failed)} check(s) failed: {', '.join(failed)}. Apply the fix under each ✗ line.")
        elif warned:
            lines.append(f"No check failed; {len(warned)} warning(s): {', '.join(warned)}.")
        else:
            lines.append("All checks passed.")
        text = "\n".join(lines)
        if ascii_only:
            text = text.replace("✗", "x").encode("ascii", "replace").decode("ascii")
        return text


# -- pure checks ---------------------------------------------------------------------------------


def permission_check(path: str, mode: int, *, platform: str = sys.platform) -> Check:
    """Warn when a key file can be read (or changed) by anyone but its owner."""
    if platform == "win32":
        return Check("key_permissions", SKIP, "file modes are not checked on Windows (use the file's ACL)")
    perms = stat.S_IMODE(mode)
    details = {"path": path, "mode": f"{perms:04o}"}
    if not perms & 0o077:
        return Check("key_permissions", OK, f"mode {perms:04o}: only you can read it", details=details)
    who = [name for bit, name in ((0o040, "group"), (0o004, "others")) if perms & bit]
    problems = []
    if who:
        problems.append("readable by " + " and ".join(who))
    if perms & 0o022:
        problems.append("writable by " + " and ".join(n for b, n in ((0o020, "group"), (0o002, "others")) if perms & b))
    if not problems:
        problems.append("group or others have access")
    return Check(
        "key_permissions",
        WARN,
        f"mode {perms:04o}: {'; '.join(problems)} — anyone who can read the key can get tokens as you",
        f"chmod 600 {_shell_quote(path)}",
        ("key_file_permissions",),
        details=details,
    )


def _shell_quote(text: str) -> str:
    import shlex

    return shlex.quote(text)


def _duration(seconds: float) -> str:
    whole = abs(round(seconds))
    if whole < 120:
        return f"{whole} s"
    if whole < 7200:
        return f"{whole} s ({whole / 60:.0f} min)"
    return f"{whole} s ({whole / 3600:.1f} h)"


def clock_check(
    offset: float | None,
    *,
    reason: str | None = None,
    warn_after: float = CLOCK_WARN,
    leeway: float = CLOCK_FAIL,
    server_date: str | None = None,
) -> Check:
    """Judge the offset (server time minus local time, seconds) measured from the ``Date`` header."""
    if offset is None:
        return Check("clock", SKIP, f"offset not measured: {reason or 'no answer from the token server'}")
    details: dict[str, Any] = {
        "offset_seconds": round(offset, 1),
        "leeway_seconds": leeway,
        "server_date": server_date,
    }
    direction = "behind" if offset > 0 else "ahead of"
    if abs(offset) < 2:
        return Check(
            "clock", OK, "in step with the token server's clock (to within the Date header's 1 s)", details=details
        )
    said = f"your clock is {_duration(offset)} {direction} the token server's (its Date header)"
    if abs(offset) <= warn_after:
        return Check("clock", OK, said, details=details)
    if abs(offset) <= leeway:
        return Check(
            "clock",
            WARN,
            f"{said}; servers allow about {leeway:.0f} s on iat/exp, so grants will soon be refused",
            NTP_FIX,
            ("clock_skew",),
            details=details,
        )
    return Check(
        "clock",
        FAIL,
        f"{said}; servers refuse grants whose iat/exp are more than about {leeway:.0f} s off their own time",
        NTP_FIX,
        ("clock_skew",),
        details=details,
    )


def safe_proxy_url(value: str) -> str:
    """A proxy URL fit to show: scheme, host and port, with any user name and password removed."""
    text = value.strip()
    had_scheme = "://" in text
    try:
        parts = urlsplit(text if had_scheme else "http://" + text)
        host = parts.hostname or ""
        port = parts.port
        has_login = parts.username is not None or parts.password is not None
    except ValueError:
        return "<not a valid URL>"
    if not host:
        return "<not a valid URL>"
    netloc = f"[{host}]" if ":" in host else host
    if port:
        netloc += f":{port}"
    if has_login:
        netloc = "***:***@" + netloc
    return f"{parts.scheme}://{netloc}" if had_scheme else netloc


def _env(environ: Mapping[str, str], name: str) -> tuple[str, str] | None:
    # requests (urllib.request.getproxies) and curl prefer the lower-case spelling.
    for variable in (name.lower(), name):
        value = environ.get(variable)
        if value:
            return variable, value
    return None


def bypasses_proxy(host: str, no_proxy: str) -> bool:
    """Whether ``host`` is excluded from proxying by a NO_PROXY list (names, .suffixes, IPs, CIDRs, '*')."""
    host = host.lower().strip("[]")
    for raw in no_proxy.replace(" ", ",").split(","):
        entry = raw.strip().lower()
        if not entry:
            continue
        if entry == "*":
            return True
        try:
            if ipaddress.ip_address(host) in ipaddress.ip_network(entry, strict=False):
                return True
            continue
        except ValueError:
            pass
        name = entry.rsplit(":", 1)[0] if entry.count(":") == 1 else entry
        name = name.lstrip("*").lstrip(".")
        if name and (host == name or host.endswith("." + name)):
            return True
    return False


def proxy_check(url: str | None, environ: Mapping[str, str]) -> Check:
    """Which proxy variables are set (credentials hidden) and whether the token URL goes through one."""
    shown: dict[str, str] = {}
    notes: list[str] = []
    for name in _PROXY_VARIABLES:
        found = _env(environ, name)
        if found:
            shown[found[0]] = safe_proxy_url(found[1])
    no_proxy = _env(environ, "NO_PROXY")
    if no_proxy:
        shown[no_proxy[0]] = no_proxy[1]
    bundle = next((name for name in _CA_VARIABLES if environ.get(name)), None)
    if bundle:
        notes.append(f"TLS certificates are checked against {bundle}={environ[bundle]}")
    details: dict[str, Any] = {"variables": dict(shown)}
    route = "direct"
    proxy_shown: str | None = None
    if url:
        try:
            parts = urlsplit(url)
            scheme, host = parts.scheme, parts.hostname or ""
        except ValueError:
            scheme, host = "", ""
        chosen = _env(environ, f"{scheme.upper()}_PROXY") if scheme else None
        chosen = chosen or _env(environ, "ALL_PROXY")
        if chosen and no_proxy and host and bypasses_proxy(host, no_proxy[1]):
            route = "bypass"
        elif chosen:
            route, proxy_shown = "proxy", safe_proxy_url(chosen[1])
        details.update(route=route, proxy=proxy_shown, host=host)
    if not shown:
        message = "no proxy variables set (HTTPS_PROXY, HTTP_PROXY, NO_PROXY): direct connection"
    else:
        message = ", ".join(f"{k}={v}" for k, v in shown.items())
        if url:
            host = details.get("host") or "the token server"
            message += {
                "proxy": f"; requests to {host} go through {proxy_shown}",
                "bypass": f"; requests to {host} bypass the proxy (NO_PROXY)",
                "direct": f"; requests to {host} go direct",
            }[route]
    invalid = [k for k, v in shown.items() if v == "<not a valid URL>"]
    if invalid:
        return Check(
            "proxy",
            WARN,
            message,
            f"Set {', '.join(invalid)} to a URL like http://proxy.example.org:3128 "
            "(with user:password@ before the host if the proxy needs a login).",
            ("invalid_proxy_url",),
            tuple(notes),
            details,
        )
    return Check("proxy", OK, message, notes=tuple(notes), details=details)


def _finding_note(code: str, severity: str, message: str, hint: str | None) -> str:
    mark = {"error": "✗", "warning": "!"}.get(severity, "·")
    return f"{mark} {code}: {message}" + (f" — fix: {hint}" if hint and severity != "error" else "")


def findings_check(name: str, diagnosis: Diagnosis, what: str) -> Check:
    """A check from an :func:`m2mauth.inspect` diagnosis of a JWT (the planned grant or the user's)."""
    claims = diagnosis.claims
    summary = ", ".join(f"{c}={claims[c]}" for c in ("iss", "sub", "aud") if c in claims)
    iat, exp = claims.get("iat"), claims.get("exp")
    if isinstance(iat, int) and isinstance(exp, int):
        summary += f"{', ' if summary else ''}exp - iat = {exp - iat} s"
    alg = diagnosis.header.get("alg")
    summary = f"{what} (alg {alg}{', kid ' + str(diagnosis.header['kid']) if 'kid' in diagnosis.header else ''})" + (
        f": {summary}" if summary else ""
    )
    details = {"header": diagnosis.header, "claims": claims, **_findings_details(diagnosis)}
    errors = [f for f in diagnosis.findings if f.severity == "error"]
    warnings = [f for f in diagnosis.findings if f.severity == "warning"]
    codes = tuple(f.code for f in diagnosis.findings)
    if not errors and not warnings:
        return Check(name, OK, summary, details=details)
    notes: list[str] = [summary]
    fixes: list[str] = []
    for finding in (*errors, *warnings):
        notes.append(_finding_note(finding.code, finding.severity, finding.message, finding.hint))
        if finding.severity == "error" and finding.hint and finding.hint not in fixes:
            fixes.append(finding.hint)
    if errors:
        message = f"{len(errors)} problem(s) in {what}: {', '.join(f.code for f in errors)}"
        return Check(name, FAIL, message, "\n".join(fixes) or None, codes, tuple(notes), details)
    return Check(name, WARN, f"{what}: {', '.join(f.code for f in warnings)}", None, codes, tuple(notes), details)


def _findings_details(diagnosis: Diagnosis) -> dict[str, Any]:
    return {"findings": diagnosis.to_dict()["findings"]}


@dataclass(frozen=True)
class Probe:
    """The outcome of one HEAD request to the token URL: status and Date header, or the error."""

    url: str
    status: int | None = None
    server_date: str | None = None
    server_time: float | None = None  # the Date header as epoch seconds
    sent_at: float | None = None  # local clock, before sending
    received_at: float | None = None  # local clock, after the answer
    elapsed_ms: float | None = None
    error: M2MAuthError | None = None

    @property
    def offset(self) -> float | None:
        """Server time minus local time, seconds: the Date header (truncated to whole seconds, so +0.5)
        against the middle of the round trip."""
        if self.server_time is None or self.sent_at is None or self.received_at is None:
            return None
        return self.server_time + 0.5 - (self.sent_at + self.received_at) / 2


def endpoint_check(result: Probe) -> Check:
    host = urlsplit(result.url).hostname or result.url
    if result.error is not None:
        return Check(
            "endpoint",
            FAIL,
            f"cannot reach {host}: {result.error.message}",
            result.error.hint,
            (result.error.code,),
            details={"url": result.url},
        )
    details = {"url": result.url, "status": result.status, "elapsed_ms": result.elapsed_ms}
    if result.status == 407:
        return Check(
            "endpoint",
            FAIL,
            "a proxy answered HTTP 407 Proxy Authentication Required instead of the token server",
            "Put the proxy's login into the proxy variable (HTTPS_PROXY=http://user:password@proxy:port) "
            "or ask your IT department which proxy and login to use.",
            ("proxy_auth_required",),
            details=details,
        )
    took = f" in {result.elapsed_ms:.0f} ms" if result.elapsed_ms is not None else ""
    return Check("endpoint", OK, f"{host} answered (HTTP {result.status} to a HEAD request{took})", details=details)


def exchange_check(
    outcome: Token | M2MAuthError,
    profile: Profile,
    *,
    now: float,
    what: str = "the exchange",
    causes: tuple[Check, ...] = (),
    note: str | None = None,
) -> Check:
    """The token server's answer: a token (never shown) or its error with the provider's plain-words fix."""
    notes = (note,) if note else ()
    if isinstance(outcome, Token):
        left = outcome.seconds_left(now)
        valid = f", valid for {left} s" if left is not None else ""
        return Check(
            "exchange",
            OK,
            f"the server issued a {outcome.token_type} token{valid} (not shown; `m2mauth token {profile.name} ...` "
            "prints it)",
            notes=notes,
            details={"expires_in": left, "token_type": outcome.token_type, "scope": outcome.scope},
        )
    explanation = explain(outcome, profile)
    codes = tuple(dict.fromkeys(c for c in (outcome.code, explanation.code) if c))
    fix = explanation.hint or outcome.hint
    cause_notes: list[str] = []
    for cause in causes:
        if cause.status != FAIL:
            continue
        cause_notes.append(f"likely cause: {cause.title} ({', '.join(cause.codes) or cause.message})")
        codes += tuple(c for c in cause.codes if c not in codes)
        offset = cause.details.get("offset_seconds")
        if cause.name == "clock" and isinstance(offset, (int, float)):
            direction = "behind" if offset > 0 else "ahead of"
            here = f"Here your clock is {_duration(offset)} {direction} the server's: {NTP_FIX}"
            fix = f"{fix} {here}" if fix else here
        elif cause.fix:
            cause_notes[-1] += "; its fix is above"
    if isinstance(outcome, TokenEndpointError):
        message = f"{what} was refused: {explanation.message}"
    else:
        message = f"{what} failed: {explanation.message}"
    details: dict[str, Any] = {"explanation": explanation.to_dict()}
    return Check("exchange", FAIL, message, fix, codes, (*notes, *cause_notes), details)


# -- I/O -----------------------------------------------------------------------------------------


def _new_session() -> requests.Session:
    import requests

    session = requests.Session()
    session.headers["User-Agent"] = "m2mauth-doctor"
    return session


def _transport_error(exc: BaseException, url: str, timeout: float) -> TransportError:
    import requests

    host = urlsplit(url).hostname or url
    if isinstance(exc, requests.exceptions.ProxyError):
        return TransportError(
            f"the proxy refused the connection to {host}",
            code="proxy_error",
            hint="Check HTTPS_PROXY/HTTP_PROXY/NO_PROXY and the proxy's login (see the proxy line).",
        )
    if isinstance(exc, requests.exceptions.SSLError):
        return TransportError(
            f"TLS verification failed for {host}",
            code="tls_error",
            hint="A proxy may intercept TLS: point REQUESTS_CA_BUNDLE at its CA bundle.",
        )
    if isinstance(exc, requests.exceptions.Timeout):
        return TransportError(
            f"no answer from {host} within {timeout:g} s",
            code="timeout",
            hint="The token server is slow or unreachable from here; check the network and proxy settings.",
        )
    return TransportError(
        f"no connection to {host} ({type(exc).__name__})",
        code="connection_error",
        hint="Check the token URL, your network and the proxy settings (HTTPS_PROXY, NO_PROXY).",
    )


def probe(
    url: str,
    *,
    session: requests.Session | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    clock: Callable[[], float] = time.time,
) -> Probe:
    """One HEAD request to ``url`` (no credentials, no redirects): is it reachable, and its Date header."""
    import requests

    http = session or _new_session()
    sent = clock()
    started = time.monotonic()
    try:
        response = http.request("HEAD", url, timeout=timeout, allow_redirects=False)
    except requests.exceptions.RequestException as exc:
        return Probe(url, error=_transport_error(exc, url, timeout))
    finally:
        if session is None:
            http.close()
    elapsed = (time.monotonic() - started) * 1000
    received = clock()
    date = response.headers.get("Date")
    server_time = None
    if date:
        try:
            server_time = email.utils.parsedate_to_datetime(date).timestamp()
        except (TypeError, ValueError, IndexError):
            server_time = None
    return Probe(url, response.status_code, date, server_time, sent, received, round(elapsed, 1))


def _send_json(request: TokenRequest, profile: Profile, session: requests.Session, timeout: float) -> Token:
    """POST the request's fields as a JSON document (the mistake being diagnosed), then read the answer."""
    import requests

    check_url(request.url)
    body = json.dumps(dict(request.form)).encode("utf-8")
    headers = {"Accept": "application/json", "Content-Type": "application/json"}
    try:
        response = session.post(request.url, data=body, headers=headers, timeout=timeout, allow_redirects=False)
    except requests.exceptions.RequestException as exc:
        raise _transport_error(exc, request.url, timeout) from None
    try:
        return parse_token_response(
            response.status_code, response.content, response.headers.get("Content-Type"), url=request.url
        )
    except TokenEndpointError as err:
        raise with_profile_hint(err, profile) from None


def _is_path(value: Any) -> bool:
    if isinstance(value, os.PathLike):
        return True
    return (
        isinstance(value, str)
        and "-----BEGIN" not in value
        and not value.lstrip().startswith("{")
        and "\n" not in value
        and len(value) < 4096
    )


_LABELS = {"service_key": "service key", "private_key": "private key"}
_FILE_HINTS = {
    "service_key": "Check the path of the service key JSON (download it again from your CLMS profile page if lost).",
    "private_key": "Check the path of the private key file ('~' is expanded; relative paths start in the "
    "current folder).",
}


def _source(name: str, creds: Credentials, given: Mapping[str, Any], profile: Profile) -> str:
    for variable in (*profile.env.get(name, ()), f"M2MAUTH_{name.upper()}"):
        if given.get(name) is None and variable in creds.from_env:
            return f"from {variable}"
    return f"passed as {name.replace('_', '-')}"


def _key_file_checks(
    creds: Credentials, given: Mapping[str, Any], profile: Profile, platform: str
) -> tuple[list[Check], bool]:
    """key_file and key_permissions checks; the flag says every named key file exists."""
    checks: list[Check] = []
    found = True
    for name in ("service_key", "private_key"):
        value = creds.get(name)
        if value is None:
            continue
        label = _LABELS[name]
        if not _is_path(value):
            where = _source(name, creds, given, profile)
            checks.append(Check("key_file", OK, f"{label} given inline ({where}), not as a file"))
            continue
        hint = KEY_MATERIAL_HINT if looks_like_key_material(value) else _FILE_HINTS[name]
        try:
            path = Path(os.fspath(value)).expanduser()
        except RuntimeError:  # "~user" with no such user
            found = False
            message = f"{label} path cannot be expanded: {_shown(value)}"
            checks.append(Check("key_file", FAIL, message, hint, ("key_file_not_found",)))
            continue
        try:
            info = path.stat()
        except FileNotFoundError:
            found = False
            checks.append(
                Check("key_file", FAIL, f"{label} file not found: {_shown(path)}", hint, ("key_file_not_found",))
            )
            continue
        except (OSError, ValueError) as exc:  # ValueError: NUL bytes in the name
            found = False
            reason = getattr(exc, "strerror", None) or type(exc).__name__
            checks.append(
                Check(
                    "key_file",
                    FAIL,
                    f"{label} file cannot be read: {_shown(path)} ({reason})",
                    hint if looks_like_key_material(value) else None,
                    ("key_file_unreadable",),
                )
            )
            continue
        if not stat.S_ISREG(info.st_mode):
            found = False
            checks.append(
                Check("key_file", FAIL, f"{label} path is not a file: {_shown(path)}", hint, ("key_file_not_found",))
            )
            continue
        checks.append(
            Check("key_file", OK, f"{label} file found: {path} ({info.st_size} bytes)", details={"path": str(path)})
        )
        checks.append(permission_check(str(path), info.st_mode, platform=platform))
    if not checks:
        if creds.secret:
            where = _source("secret", creds, given, profile)
            checks.append(Check("key_file", SKIP, f"no key file: the HMAC secret is {where}"))
        elif creds.client_secret:
            checks.append(Check("key_file", SKIP, "no key file: this flow authenticates with a client secret"))
    return checks, found


def _assertion_alg(plan: Plan) -> str | None:
    if plan.assertion is not None:
        alg = plan.assertion.header.get("alg")
        return str(alg) if alg else None
    client_assertion = plan.request.field("client_assertion")
    if client_assertion:
        diagnosis = inspect(client_assertion)
        alg = diagnosis.header.get("alg")
        return str(alg) if alg else None
    return None


def _key_message(key: Key, alg: str | None, service_key: ServiceKey | None) -> Check:
    kid = f", kid {key.kid}" if key.kid else ""
    owner = f" (CLMS service key of client_id {service_key.client_id})" if service_key else ""
    signs = f"; m2mauth signs {alg}" if alg else f"; m2mauth would sign {key.default_algorithm}"
    details = {"kind": key.kind, "size": key.size if key.kind != "oct" else None, "alg": alg or key.default_algorithm}
    if key.kind == "RSA" and key.size < 2048:
        return Check(
            "key",
            WARN,
            f"{key.describe()}{kid}{owner}{signs}: under 2048 bits, which many servers refuse",
            "Make a new 2048-bit (or larger) key: `m2mauth keygen --kid NAME`, and register its public JWK.",
            ("weak_key",),
            details=details,
        )
    return Check("key", OK, f"{key.describe()}{kid}{owner}{signs}", details=details)


def _load_signing_key(creds: Credentials, service_key: ServiceKey | None) -> Key | None:
    if service_key is not None:
        return service_key.key
    if creds.private_key is not None:
        return load_key(creds.private_key, password=creds.key_password, kid=creds.key_id)
    if creds.secret:
        return secret_key(creds.secret, kid=creds.key_id)
    return None


def _grant_request(
    jwt: str, url: str, profile: Profile, flow: Flow | None, creds: Credentials
) -> tuple[TokenRequest, str]:
    """How the user's JWT is sent: as a JWT bearer grant, or as a client assertion where the profile uses one."""
    bearer = flow if flow is not None and flow.grant == "jwt_bearer" else None
    bearer = bearer or next((f for f in profile.flows if f.grant == "jwt_bearer"), None)
    if bearer is not None or not any(
        m in ("private_key_jwt", "client_secret_jwt") for f in profile.flows for m in f.auth_methods
    ):
        return grants.jwt_bearer(url, jwt, scope=creds.scope), "the JWT bearer grant (RFC 7523 §2.1)"
    form = [("grant_type", "client_credentials")]
    if creds.scope:
        form.append(("scope", creds.scope))
    client_id = creds.client_id or inspect(jwt).claims.get("iss")
    if isinstance(client_id, str) and client_id:
        form.append(("client_id", client_id))
    form += [("client_assertion_type", CLIENT_ASSERTION_TYPE), ("client_assertion", jwt)]
    headers = (("Accept", "application/json"), ("Content-Type", "application/x-www-form-urlencoded"))
    return TokenRequest("POST", url, headers, tuple(form)), "client credentials with the JWT as client assertion"


def run_doctor(
    profile: str | Profile | Mapping[str, Any] | os.PathLike[str],
    *,
    jwt: str | None = None,
    send: bool = False,
    json_body: bool = False,
    flow: str | None = None,
    auth_method: str | None = None,
    try_exchange: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
    clock: Callable[[], float] | None = None,
    environ: Mapping[str, str] | None = None,
    session: requests.Session | None = None,
    platform: str = sys.platform,
    **credentials: Any,
) -> Report:
    """Run the checklist for these credentials (or for the grant ``jwt``) and return the Report.

    Raises only for a profile that cannot be loaded or an unknown credential keyword; every other
    problem becomes a failed check.
    """
    if json_body and not send:
        raise ConfigError("json_body= needs send=True", code="invalid_option", hint="Pass send=True as well.")
    if send and jwt is None:
        raise ConfigError("send= needs jwt= (the grant to send)", code="invalid_option")
    if jwt is not None:
        try:
            jwt.encode("utf-8")
        except (AttributeError, UnicodeEncodeError):  # not text, or bytes that are not UTF-8 (lone surrogates)
            raise ConfigError("jwt= must be UTF-8 text (the compact JWT)", code="invalid_option") from None
    prof = load_profile(profile)
    now = clock or time.time
    env = os.environ if environ is None else environ
    given = {k: v for k, v in credentials.items() if v is not None}
    creds = resolve_credentials(prof, given, env)
    http = session or _new_session()
    try:
        return _run(
            prof, creds, given, jwt, send, json_body, flow, auth_method, try_exchange, timeout, now, env, http, platform
        )
    finally:
        if session is None:
            http.close()


def _run(
    prof: Profile,
    creds: Credentials,
    given: dict[str, Any],
    jwt: str | None,
    send: bool,
    json_body: bool,
    flow_name: str | None,
    auth_method: str | None,
    try_exchange: bool,
    timeout: float,
    now: Callable[[], float],
    env: Mapping[str, str],
    http: requests.Session,
    platform: str,
) -> Report:
    checks: list[Check] = []
    mode = "jwt" if jwt is not None else "credentials"

    # Credentials and the flow they select.
    chosen: Flow | None = None
    try:
        chosen = prof.select_flow(creds.available(), flow_name)
    except ConfigError as err:
        if mode == "credentials":
            checks.append(Check("credentials", FAIL, err.message, err.hint, (err.code,)))
    if chosen is not None:
        names = sorted(n for n in creds.available() if n not in ("token_url", "issuer", "scope", "audience"))
        from_env = f"; from the environment: {', '.join(creds.from_env)}" if creds.from_env else ""
        checks.append(
            Check(
                "credentials",
                OK,
                f"flow {chosen.name} ({chosen.grant}) with {', '.join(names) or 'no credentials'}{from_env}",
                details={"flow": chosen.name, "grant": chosen.grant, "names": names, "from_env": list(creds.from_env)},
            )
        )

    # Key files, the key and the algorithm.
    file_checks, files_found = _key_file_checks(creds, given, prof, platform)
    checks += file_checks
    service_key: ServiceKey | None = None
    key: Key | None = None
    key_ok = files_found
    if files_found:
        try:
            if creds.service_key is not None:
                service_key = load_service_key(creds.service_key)
            key = _load_signing_key(creds, service_key)
        except ConfigError as err:
            key_ok = False
            checks.append(Check("key", FAIL, err.message, err.hint, (err.code,)))

    # Where the token request goes (OIDC discovery when only an issuer is known).
    token_url = creds.token_url
    if not token_url and creds.issuer:
        try:
            token_url = str(discover(str(creds.issuer), session=http, timeout=timeout)["token_endpoint"])
            checks.append(Check("discovery", OK, f"{creds.issuer} names the token endpoint {token_url}"))
        except M2MAuthError as err:
            checks.append(Check("discovery", FAIL, err.message, err.hint, (err.code,)))

    # The request m2mauth would send, its key and its JWT.
    plan: Plan | None = None
    if mode == "credentials" and chosen is not None and key_ok:
        overrides = {"token_url": token_url} if token_url else {}
        try:
            plan = plan_request(
                prof,
                flow=chosen.name,
                auth_method=auth_method,
                clock=now,
                environ=env,
                **{**given, **overrides},
            )
        except ConfigError as err:
            if err.code == "interactive_flow":
                checks.append(
                    Check(
                        "request",
                        SKIP,
                        f"{chosen.name} is an interactive device login; `m2mauth login {prof.name} ...` runs it once "
                        "and stores a refresh token",
                    )
                )
            else:
                checks.append(Check("request", FAIL, err.message, err.hint, (err.code,)))
    if key is not None:
        checks.append(_key_message(key, _assertion_alg(plan) if plan else None, service_key))
    elif plan is not None and plan.auth_method:
        checks.append(Check("key", OK, f"no key: the client authenticates with {plan.auth_method}"))

    url = (
        (plan.request.url if plan else None)
        or token_url
        or (service_key.token_uri if service_key else None)
        or (chosen.token_url if chosen else None)
        or prof.token_url
    )

    # The claims of the JWT: the planned one, or the user's own.
    if plan is not None:
        checks += _planned_claims(plan, prof, service_key, now)
    if jwt is not None:
        expected_aud = service_key.token_uri if service_key else url
        alg = inspect(jwt).header.get("alg")
        # A key of another kind than the grant's alg (an RSA key, an HS256 grant) is already a finding.
        same_kind = key is not None and isinstance(alg, str) and alg in key.algorithms
        diagnosis = inspect(jwt, prof, now=now(), key=key if same_kind else None, token_url=expected_aud)
        checks.append(findings_check("grant", diagnosis, "the grant given with --jwt"))

    # Clock, proxy and endpoint: one HEAD request to the token URL.
    probe_result: Probe | None = None
    if url:
        try:
            check_url(url)
        except ConfigError as err:
            checks.append(Check("clock", SKIP, "offset not measured: the token URL is refused"))
            checks.append(proxy_check(url, env))
            checks.append(Check("endpoint", FAIL, err.message, err.hint, (err.code,), details={"url": url}))
        else:
            probe_result = probe(url, session=http, timeout=timeout, clock=now)
            reason = "the token server did not answer" if probe_result.error else "the answer has no Date header"
            checks.append(clock_check(probe_result.offset, reason=reason, server_date=probe_result.server_date))
            checks.append(proxy_check(url, env))
            checks.append(endpoint_check(probe_result))
    else:
        checks.append(Check("clock", SKIP, "offset not measured: no token URL"))
        checks.append(proxy_check(None, env))
        checks.append(
            Check(
                "endpoint",
                FAIL,
                f"profile {prof.name!r} has no token URL",
                "Pass --token-url (the token endpoint) or --issuer (OIDC discovery finds it).",
                ("missing_token_url",),
            )
        )

    checks.append(
        _exchange(
            prof, creds, chosen, plan, jwt, send, json_body, try_exchange, url, probe_result, checks, timeout, now, http
        )
    )
    return Report(prof.name, tuple(checks), chosen.name if chosen else None, url, mode)


def _planned_claims(plan: Plan, prof: Profile, service_key: ServiceKey | None, now: Callable[[], float]) -> list[Check]:
    checks: list[Check] = []
    jwt = plan.assertion.jwt if plan.assertion else plan.request.field("client_assertion")
    if not jwt:
        how = f" with {plan.auth_method}" if plan.auth_method else ""
        checks.append(Check("claims", SKIP, f"this flow sends no JWT ({plan.flow.grant}{how})"))
        return checks
    what = "the planned grant" if plan.assertion else "the planned client assertion"
    check = findings_check("claims", inspect(jwt, prof, now=now(), key=plan.key, token_url=plan.token_url), what)
    if service_key is not None and service_key.token_uri != plan.token_url:
        # CLMS checks aud against the service key's own token_uri, whatever URL the grant is posted to.
        note = (
            f"✗ audience_mismatch: aud will be {plan.token_url} (the URL used), but this service key's token_uri is "
            f"{service_key.token_uri}; {prof.name} accepts the grant only when aud is the service key's token_uri"
        )
        fix = (
            f"Use the service key's own token URL: drop --token-url (token_url=) so the grant goes to and names "
            f"{service_key.token_uri}, or download a service key issued by the server at {plan.token_url}."
        )
        codes = (*check.codes, "audience_mismatch")
        notes = check.notes or (check.message,)
        check = Check(
            "claims",
            FAIL,
            f"{sum(1 for n in (*notes, note) if n.startswith('✗'))} problem(s) in {what}: "
            + ", ".join(c for c in codes if c),
            fix if check.status != FAIL else f"{fix}\n{check.fix}",
            codes,
            (*notes, note),
            {**check.details, "service_key_token_uri": service_key.token_uri},
        )
    if "audience_mismatch" in check.codes and plan.credentials.audience:
        drop = (
            f"Drop --audience (audience=): the grant then names the token URL {plan.token_url}, as "
            f"{prof.name} expects; or give the token URL itself as the audience."
        )
        check = replace(check, fix=f"{drop}\n{check.fix}" if check.fix else drop)
    checks.append(check)
    return checks


def _exchange(
    prof: Profile,
    creds: Credentials,
    chosen: Flow | None,
    plan: Plan | None,
    jwt: str | None,
    send: bool,
    json_body: bool,
    try_exchange: bool,
    url: str | None,
    probe_result: Probe | None,
    earlier: list[Check],
    timeout: float,
    now: Callable[[], float],
    http: requests.Session,
) -> Check:
    causes = tuple(c for c in earlier if c.name in ("clock", "claims", "grant", "proxy") and c.status == FAIL)
    unreachable = probe_result is not None and probe_result.error is not None
    if jwt is not None:
        if not send:
            where = f" to {url}" if url else ""
            return Check(
                "exchange", SKIP, f"not sent; add --send to POST this grant{where} and see the server's answer"
            )
        if not url:
            return Check("exchange", SKIP, "not sent: no token URL (pass --token-url)")
        request, how = _grant_request(jwt, url, prof, chosen, creds)
        note = (
            f"sent {how} as a JSON body (--json-body), as httr2::req_body_json() or requests' json= do"
            if json_body
            else f"sent {how}, form-encoded, as m2mauth does"
        )
        outcome: Token | M2MAuthError
        try:
            outcome = (
                _send_json(request, prof, http, timeout)
                if json_body
                else exchange(request, profile=prof, session=http, timeout=timeout, clock=now)
            )
        except M2MAuthError as err:
            outcome = err
        return exchange_check(outcome, prof, now=now(), what="the grant", causes=causes, note=note)
    if plan is None and chosen is not None and chosen.grant == "device_code":
        return Check("exchange", SKIP, f"not tried: a device login is interactive (`m2mauth login {prof.name} ...`)")
    if plan is None:
        return Check("exchange", SKIP, "not tried: fix the failed checks above first")
    if not try_exchange:
        return Check("exchange", SKIP, "not tried (--no-exchange)")
    if plan.flow.grant in REFRESH_GRANTS:
        return Check(
            "exchange",
            SKIP,
            f"not tried: a refresh token may be single-use ({prof.name} can replace it on every use), and doctor "
            f"keeps nothing; `m2mauth token {prof.name} ...` tries it and stores the new one",
        )
    if unreachable:
        return Check("exchange", SKIP, "not tried: the token server is unreachable (see the endpoint line)")
    try:
        outcome = exchange(
            plan.request,
            profile=prof,
            session=http,
            timeout=timeout,
            default_lifetime=prof.default_token_lifetime,
            clock=now,
        )
    except M2MAuthError as err:
        outcome = err
    return exchange_check(outcome, prof, now=now(), causes=causes)
