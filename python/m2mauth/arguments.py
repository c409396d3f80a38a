"""Checks of the public functions' options (timeout, session, verify, ...), at the entry points.

A wrong value given by the caller must end as a ConfigError naming the keyword and the fix, not
as a TypeError or ValueError from requests or urllib3 several calls later (``timeout=0`` used to
reach urllib3, ``timeout=None`` the body reader).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Mapping
from typing import Any

from .errors import ConfigError

__all__ = ["MAX_TIMEOUT", "check_options", "check_timeout"]

#: A day: beyond it a token request is not slow, it is stuck (and the OS refuses larger socket timeouts).
MAX_TIMEOUT = 86400.0


def _kind(value: object) -> str:
    return "None" if value is None else type(value).__name__


def _bad(name: str, wanted: str, value: object, hint: str | None = None) -> ConfigError:
    # Numbers and short names are shown; other values only by type (a proxy URL may hold a password).
    plain = _is_number(value) or (isinstance(value, str) and len(value) <= 20 and value.isidentifier())
    shown = repr(value) if plain else _kind(value)
    return ConfigError(
        f"{name}= must be {wanted}, not {shown}",
        code="invalid_option",
        hint=hint or f"Pass {name}= as {wanted}, or leave it out for the default.",
    )


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _finite(value: object) -> float | None:
    """The value as a float when it is a finite real number (not a bool), else None."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def check_timeout(value: object, name: str = "timeout") -> float:
    """Seconds to wait for an answer: a finite number above 0 (at most a day)."""
    if not _is_number(value):
        raise _bad(name, "a number of seconds", value, f"Pass {name}=30 (seconds), for example.")
    seconds = _finite(value)
    if seconds is None or not (0 < seconds <= MAX_TIMEOUT):
        raise _bad(
            name, f"above 0 and at most {MAX_TIMEOUT:g} seconds", value, f"Pass {name}=30 (seconds), for example."
        )
    return seconds


def _margin(value: object) -> None:
    number = _finite(value)
    if value is not None and (number is None or number < 0):
        raise _bad("margin", "a number of seconds (0 or more) or None", value)


def _retry(value: object) -> None:
    from .retry import RetryPolicy

    if value is not None and not isinstance(value, RetryPolicy):
        raise _bad("retry", "a RetryPolicy or None", value, "Pass retry=m2mauth.RetryPolicy(attempts=4), for example.")


def _callable(name: str, optional: bool = True) -> Callable[[object], None]:
    def check(value: object) -> None:
        if not (callable(value) or (optional and value is None)):
            raise _bad(name, "a function or None" if optional else "a function", value)

    return check


def _store(value: object) -> None:
    from .stores import Store

    if value is not None and not isinstance(value, Store):
        raise _bad("store", "a store (MemoryStore(), FileStore(), RedisStore(url)) or None", value)


def _session(value: object) -> None:
    import requests

    if value is not None and not isinstance(value, requests.Session):
        raise _bad("session", "a requests.Session or None", value)


def _verify(value: object) -> None:
    if isinstance(value, bool):
        return  # verify=False has its own refusal (insecure_tls) where it is used
    if isinstance(value, (str, os.PathLike)):
        try:
            path = os.fspath(value)
            exists = isinstance(path, str) and bool(path) and os.path.exists(path)
        except (TypeError, ValueError):  # a NUL byte, or a PathLike giving bytes
            exists = False
        if exists:
            return
        raise ConfigError(
            "verify= names no CA bundle file or folder that exists",
            code="invalid_option",
            hint="Pass verify='/path/to/ca-bundle.pem' (a PEM file of trusted CAs), or leave it out.",
        )
    raise _bad("verify", "True or the path of a CA bundle", value)


def _proxies(value: object) -> None:
    if value is None:
        return
    if not isinstance(value, Mapping) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise _bad("proxies", "a mapping of scheme to proxy URL", value, "Pass proxies={'https': 'http://proxy:3128'}.")


def _is_text(value: object) -> bool:
    """Text that can be sent: lone surrogates (undecodable bytes from argv or a file name) cannot."""
    if not isinstance(value, str):
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _text(name: str) -> Callable[[object], None]:
    def check(value: object) -> None:
        if value is not None and not _is_text(value):
            raise _bad(name, "UTF-8 text or None", value)

    return check


def _required_text(name: str) -> Callable[[object], None]:
    # Empty text passes here: the caller's own check names what is missing (missing_claim).
    def check(value: object) -> None:
        if not _is_text(value):
            raise _bad(name, "UTF-8 text", value)

    return check


def _flag(name: str) -> Callable[[object], None]:
    def check(value: object) -> None:
        if not isinstance(value, bool):
            raise _bad(name, "True or False", value)

    return check


def _audience(value: object) -> None:
    if not _is_text(value) and not (isinstance(value, list) and all(_is_text(v) for v in value)):
        raise _bad("audience", "UTF-8 text or a list of it", value)


def _seconds_or_none(name: str) -> Callable[[object], None]:
    def check(value: object) -> None:
        number = _finite(value)
        if value is not None and (number is None or number <= 0):
            raise _bad(name, "a number of seconds above 0, or None", value)

    return check


def _whole_seconds_or_none(name: str) -> Callable[[object], None]:
    def check(value: object) -> None:
        if value is not None and not (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
            raise _bad(name, "a whole number of seconds (1 or more) or None", value)

    return check


def _integral_seconds_or_none(name: str) -> Callable[[object], None]:
    # R sends numbers as doubles: 86400 arrives as 86400.0, which is as whole as 86400L.
    def check(value: object) -> None:
        number = _finite(value)
        if value is not None and (number is None or number < 1 or number != int(number)):
            raise _bad(name, "a whole number of seconds (1 or more) or None", value)

    return check


def _http_status(value: object) -> None:
    if not (isinstance(value, int) and not isinstance(value, bool)):
        raise _bad("status", "an HTTP status code (an integer)", value)


def _body(value: object) -> None:
    if not isinstance(value, (str, bytes, bytearray)):
        raise _bad("body", "the answer's text or bytes", value)


def _signing_key(value: object) -> None:
    from .keys import Key

    if not isinstance(value, Key):
        raise _bad("key", "a Key (from m2mauth.load_key)", value)


def _path(value: object) -> None:
    if value is None:
        return
    try:
        ok = isinstance(value, (str, os.PathLike)) and _is_text(os.fspath(value))
    except TypeError:  # a PathLike whose fspath is not text
        ok = False
    if not ok or "\x00" in str(value):
        raise _bad("path", "a folder path (text) or None", value)


def _basic_encoding(value: object) -> None:
    if value is not None and value not in ("rfc", "raw"):
        raise _bad("basic_encoding", "'rfc' or 'raw'", value)


def _now(value: object) -> None:
    if value is not None and _finite(value) is None:
        raise _bad("now", "a Unix time in seconds or None", value)


def _json_mapping(name: str) -> Callable[[object], None]:
    """A mapping that serialises to JSON text (what a JWT header or claim set becomes)."""

    def check(value: object) -> None:
        if value is None and name in ("headers", "extra_claims"):
            return
        if not isinstance(value, Mapping):
            raise _bad(name, "a mapping (a dict / named list)", value)
        try:
            json.dumps(dict(value), allow_nan=False, ensure_ascii=False).encode("utf-8")
        except (TypeError, ValueError, RecursionError):  # also keys that are not text, NaN, lone surrogates
            raise ConfigError(
                f"{name}= cannot be written as JSON",
                code="invalid_option",
                hint=f"{name}= may hold text keys and JSON values only (text, finite numbers, true/false, "
                "null, lists, mappings).",
            ) from None

    return check


def _key(value: object) -> None:
    from .keys import Key

    if value is not None and not isinstance(value, Key):
        raise _bad("key", "a Key (from m2mauth.load_key) or None", value)


def _key_password(value: object) -> None:
    if value is not None and not isinstance(value, (str, bytes)):
        raise _bad("key_password", "text or None", value)


def _status(value: object) -> None:
    if value is not None and not (isinstance(value, int) and not isinstance(value, bool) and 100 <= value <= 999):
        raise _bad("status", "an HTTP status (100 to 999) or None", value)


def _request(value: object) -> None:
    from .token_request import TokenRequest

    if not isinstance(value, TokenRequest):
        raise _bad("request", "a TokenRequest (from m2mauth.build_request(...).request)", value)


def _profile_or_none(value: object) -> None:
    from .profiles import Profile

    if value is not None and not isinstance(value, Profile):
        raise _bad("profile", "a Profile (from m2mauth.load_profile) or None", value)


def _environ(value: object) -> None:
    if value is not None and not isinstance(value, Mapping):
        raise _bad("environ", "a mapping of variable names to values, or None", value)


_CHECKS: dict[str, Callable[[object], object]] = {
    "timeout": check_timeout,
    "margin": _margin,
    "retry": _retry,
    "clock": _callable("clock"),
    "prompt": _callable("prompt"),
    "sleep": _callable("sleep", optional=False),
    "store": _store,
    "session": _session,
    "verify": _verify,
    "proxies": _proxies,
    "flow": _text("flow"),
    "auth_method": _text("auth_method"),
    "alg": _text("alg"),
    "basic_encoding": _basic_encoding,
    "lifetime": _whole_seconds_or_none("lifetime"),
    "validity_period": _integral_seconds_or_none("validity_period"),
    "now": _now,
    "jti_source": _callable("jti_source"),
    "environ": _environ,
    "claims": _json_mapping("claims"),
    "headers": _json_mapping("headers"),
    "key": _key,
    "kid": _text("kid"),
    "key_password": _key_password,
    "token_url": _text("token_url"),
    "status": _status,
    "http_status": _http_status,
    "body": _body,
    "content_type": _text("content_type"),
    "url": _text("url"),
    "default_lifetime": _seconds_or_none("default_lifetime"),
    "signing_key": _signing_key,
    "issuer": _required_text("issuer"),
    "audience": _audience,
    "subject": _text("subject"),
    "jti": _text("jti"),
    "typ": _text("typ"),
    "max_lifetime": _whole_seconds_or_none("max_lifetime"),
    "with_jti": _flag("with_jti"),
    "not_before": _flag("not_before"),
    "extra_claims": _json_mapping("extra_claims"),
    "path": _path,
    "request": _request,
    "profile": _profile_or_none,
}


def check_options(**options: Any) -> None:
    """Raise ConfigError(invalid_option) naming the first option whose value cannot be right."""
    for name, value in options.items():
        _CHECKS[name](value)
