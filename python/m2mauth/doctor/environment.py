"""Checks of the machine around the request: the clock's offset from the token server, and the proxy."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..diagnose import CLOCK_LEEWAY
from .report import FAIL, OK, SKIP, WARN, Check

if TYPE_CHECKING:
    pass


CLOCK_WARN = 30.0  # seconds of offset worth a warning
CLOCK_FAIL = float(CLOCK_LEEWAY)  # the leeway providers allow on iat/exp (CLMS and DT: 60 s)


NTP_FIX = (
    "Sync your computer's clock with NTP: Linux `sudo timedatectl set-ntp true` (or chrony/ntpd), "
    "macOS System Settings > General > Date & Time > 'Set time and date automatically', "
    "Windows `w32tm /resync`; https://time.is shows how far off it is."
)


_PROXY_VARIABLES = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY")
_CA_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")  # the ones requests reads, in its order


def duration(seconds: float) -> str:
    whole = abs(round(seconds))
    if whole < 120:
        return f"{whole} s"
    if whole < 7200:
        return f"{whole} s ({whole / 60:.0f} min)"
    if whole < 3 * 86400:
        return f"{whole} s ({whole / 3600:.1f} h)"
    return f"{whole} s ({whole / 86400:.1f} days)"  # EDL's 60-day tokens, offline tokens


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
    said = f"your clock is {duration(offset)} {direction} the token server's (its Date header)"
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
