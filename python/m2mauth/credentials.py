"""Credentials as users give them: keyword arguments first, then documented environment variables.

The same keyword names everywhere (Python, R arguments, CLI options): see ``CREDENTIAL_NAMES``.
"""

from __future__ import annotations

import difflib
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

from .errors import ConfigError

if TYPE_CHECKING:
    from .profiles import Profile

__all__ = ["CREDENTIAL_NAMES", "Credentials", "clean_secret", "resolve_credentials"]

log = logging.getLogger("m2mauth")

CREDENTIAL_NAMES = (
    "service_key",
    "client_id",
    "client_secret",
    "private_key",
    "key_id",
    "secret",
    "email",
    "username",
    "password",
    "totp",
    "refresh_token",
    "scope",
    "token_url",
    "issuer",
    "device_authorization_url",
    "audience",
    "key_password",
    "application_token",  # USGS M2M: exchanged with username for a 2-hour API key
    "access_token",  # a ready token used as is (EARTHDATA_TOKEN)
    # RFC 8693 token exchange: the token to exchange and what to ask for (grants.token_exchange).
    "subject_token",
    "subject_token_type",
    "resource",
    "requested_token_type",
)
#: Keywords the entry points take besides credentials: offered as "did you mean" for a misspelt keyword.
OPTION_NAMES = (
    "flow",
    "auth_method",
    "basic_encoding",
    "timeout",
    "verify",
    "proxies",
    "session",
    "store",
    "margin",
    "retry",
    "clock",
    "prompt",
    "keep_refresh_token",
    "environ",
    "alg",
    "lifetime",
    "validity_period",
)
#: Credentials whose empty value means something: ``scope=""`` asks for no scope at all.
MAY_BE_EMPTY = frozenset({"scope"})
#: Given as files or key text, parsed (a PEM ends with a line break): not checked for surrounding whitespace.
PARSED_NAMES = frozenset({"service_key", "private_key"})
#: Values that are never shown, not even their length.
SECRET_NAMES = frozenset(
    {
        "client_secret",
        "private_key",
        "secret",
        "password",
        "refresh_token",
        "key_password",
        "service_key",
        "application_token",
        "access_token",
        "subject_token",
    }
)

#: A one-time code (two-factor accounts, CDSE's ``totp``): short-lived, yet never shown either.
ONE_TIME_NAMES = frozenset({"totp"})


@dataclass(frozen=True, repr=False)
class Credentials:
    service_key: Any = None
    client_id: str | None = None
    client_secret: str | None = None
    private_key: Any = None
    key_id: str | None = None
    secret: str | None = None
    email: str | None = None
    username: str | None = None
    password: str | None = None
    totp: str | Callable[[], str] | None = None  # a one-time code, or a callable giving the current one
    refresh_token: str | None = None
    scope: str | None = None
    token_url: str | None = None
    issuer: str | None = None
    device_authorization_url: str | None = None  # RFC 8628 endpoint, for servers that advertise none
    audience: str | None = None
    key_password: str | None = None
    application_token: str | None = None
    access_token: str | None = None
    subject_token: str | None = None  # RFC 8693: the token to exchange (a secret)
    subject_token_type: str | None = None
    resource: str | None = None
    requested_token_type: str | None = None
    from_env: tuple[str, ...] = field(default=())  # names of the environment variables used
    from_file: str | None = None  # the provider tool's credential file used (provider_files.py), if any

    def available(self) -> set[str]:
        return {
            f.name
            for f in fields(self)
            if f.name not in ("from_env", "from_file") and getattr(self, f.name) not in (None, "")
        }

    def get(self, name: str) -> Any:
        return getattr(self, name)

    def __repr__(self) -> str:
        shown = []
        for name in sorted(self.available()):
            value = getattr(self, name)
            hidden = name in SECRET_NAMES or name in ONE_TIME_NAMES
            shown.append(f"{name}=<redacted>" if hidden else f"{name}={value!r}")
        return "Credentials(" + ", ".join(shown) + ")"


def _is_unicode(text: str) -> bool:
    """False for lone surrogates (how Python represents argv or environment bytes that are not UTF-8)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _is_key_input(value: object) -> bool:
    from .keys import Key, ServiceKey

    return isinstance(value, (str, bytes, bytearray, os.PathLike, Mapping, Key, ServiceKey))


def clean_secret(value: str, name: str, source: str) -> str:
    """A credential read from an environment variable, a file or stdin, without its final line break.

    Files and ``echo`` end text with a newline that is never part of a secret; other surrounding
    whitespace may be deliberate, so it is kept, with a warning that names ``name`` and ``source``
    (never the value).
    """
    cleaned = value.rstrip("\r\n")
    if name not in PARSED_NAMES:
        warn_whitespace(cleaned, name, source)
    return cleaned


def warn_whitespace(value: str, name: str, source: str) -> None:
    """Log a warning when a secret starts or ends with whitespace (a pasting mistake, most often)."""
    if value and value != value.strip():
        where = (
            "starts and ends"
            if value[0].isspace() and value[-1].isspace()
            else ("starts" if value[0].isspace() else "ends")
        )
        log.warning(
            "%s (from %s) %s with whitespace; it is sent as given. Remove it if it is not part of the value.",
            name,
            source,
            where,
        )


def _unknown_keyword(unknown: list[str]) -> ConfigError:
    parts = []
    for name in unknown:
        close = difflib.get_close_matches(name, (*CREDENTIAL_NAMES, *OPTION_NAMES), n=1, cutoff=0.6)
        parts.append(f"{name}= (did you mean {close[0]}?)" if close else f"{name}=")
    return ConfigError(
        f"unknown credential keyword{'s' if len(unknown) > 1 else ''}: {', '.join(parts)}",
        code="unknown_credential",
        hint="Credential keywords are: " + ", ".join(CREDENTIAL_NAMES) + ".",
    )


def _empty(name: str, source: str | None) -> ConfigError:
    if source is None:
        return ConfigError(
            f"{name}= is empty",
            code="empty_credential",
            hint=f"{name}= was given as empty text (an unset variable read with os.environ.get(name, '') or "
            f"Sys.getenv(), an empty --{name.replace('_', '-')}): give its value, or leave {name}= out.",
        )
    return ConfigError(
        f"{name} is empty: the environment variable {source} holds only whitespace",
        code="empty_credential",
        hint=f"Set {source} to the value, or unset it.",
    )


def resolve_credentials(
    profile: Profile, given: Mapping[str, Any], environ: Mapping[str, str] | None = None
) -> Credentials:
    """Merge keyword credentials with the provider's documented variables, then ``M2MAUTH_<NAME>``."""
    unknown = sorted(str(name) for name in set(given) - set(CREDENTIAL_NAMES))
    if unknown:
        raise _unknown_keyword(unknown)
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    used: list[str] = []
    for name in CREDENTIAL_NAMES:
        value = given.get(name)
        variable: str | None = None  # where the value came from, when not from a keyword
        if value is None:
            for candidate in (*profile.env.get(name, ()), f"M2MAUTH_{name.upper()}"):
                found = env.get(candidate)
                # An empty variable, or one holding just a line break, counts as unset.
                if found and found.rstrip("\r\n"):
                    variable = candidate
                    value = clean_secret(found, name, variable) if _is_unicode(found) else found
                    used.append(variable)
                    break
        if name in ONE_TIME_NAMES and callable(value):
            pass  # totp=: a callable that gives the current code (e.g. pyotp.TOTP(seed).now), called per grant
        elif value is not None and name not in PARSED_NAMES and not isinstance(value, str):
            raise ConfigError(f"{name} must be text, not {type(value).__name__}", code="invalid_credential")
        if name in PARSED_NAMES and value is not None and not _is_key_input(value):
            raise ConfigError(
                f"{name} must be a path, text, bytes or a mapping, not {type(value).__name__}",
                code="invalid_credential",
                hint=f"Pass {name}= as the path of the file, its content, or the parsed JSON (a dict).",
            )
        if isinstance(value, str) and not _is_unicode(value):
            raise ConfigError(
                f"{name} is not valid text: it holds bytes that are not UTF-8",
                code="invalid_credential",
                hint="Check the shell's or the file's encoding (the value must be UTF-8 text).",
            )
        if isinstance(value, str) and name not in MAY_BE_EMPTY:
            if not value.strip():
                raise _empty(name, variable)
            if variable is None and name not in PARSED_NAMES:
                warn_whitespace(value, name, f"{name}=")
        values[name] = value
    from_file = _from_provider_file(profile, values, env)
    return Credentials(**values, from_env=tuple(used), from_file=from_file)


def _from_provider_file(profile: Profile, values: dict[str, Any], env: Mapping[str, str]) -> str | None:
    """Fill the credentials no keyword and no variable gave from the provider tool's own file.

    The file is read only when it could give something missing; a file about another client
    (its client id differs from the one given) is not mixed in."""
    from .provider_files import read_credential_file

    spec = profile.credential_file
    if spec is None or all(values.get(name) is not None for name in spec.provides):
        return None
    if spec.format == "netrc" and values.get("access_token") is not None:
        return None  # a ready token from a keyword or EARTHDATA_TOKEN wins over the .netrc entry
    found = read_credential_file(spec, env)
    if found is None:
        return None
    given_id = values.get("client_id")
    if given_id is not None and found.values.get("client_id") not in (None, given_id):
        log.info("%s holds another client id than the one given; it is not used", found.path)
        return None
    given_user = values.get("username")
    if given_user is not None and found.values.get("username") not in (None, given_user):
        log.info("%s holds another login than the username given; it is not used", found.path)
        return None
    for name, value in found.values.items():
        if values.get(name) is None:
            values[name] = value
    return str(found.path)
