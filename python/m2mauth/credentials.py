"""Credentials as users give them: keyword arguments first, then documented environment variables.

The same keyword names everywhere (Python, R arguments, CLI options): see ``CREDENTIAL_NAMES``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from .errors import ConfigError
from .profiles import Profile

__all__ = ["CREDENTIAL_NAMES", "Credentials", "resolve_credentials"]

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
    "refresh_token",
    "scope",
    "token_url",
    "issuer",
    "device_authorization_url",
    "audience",
    "key_password",
)
#: Values that are never shown, not even their length.
SECRET_NAMES = frozenset(
    {"client_secret", "private_key", "secret", "password", "refresh_token", "key_password", "service_key"}
)


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
    refresh_token: str | None = None
    scope: str | None = None
    token_url: str | None = None
    issuer: str | None = None
    device_authorization_url: str | None = None  # RFC 8628 endpoint, for servers that advertise none
    audience: str | None = None
    key_password: str | None = None
    from_env: tuple[str, ...] = field(default=())  # names of the environment variables used

    def available(self) -> set[str]:
        return {f.name for f in fields(self) if f.name != "from_env" and getattr(self, f.name) not in (None, "")}

    def get(self, name: str) -> Any:
        return getattr(self, name)

    def __repr__(self) -> str:
        shown = []
        for name in sorted(self.available()):
            value = getattr(self, name)
            shown.append(f"{name}=<redacted>" if name in SECRET_NAMES else f"{name}={value!r}")
        return "Credentials(" + ", ".join(shown) + ")"


def _is_unicode(text: str) -> bool:
    """False for lone surrogates (how Python represents argv or environment bytes that are not UTF-8)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def resolve_credentials(
    profile: Profile, given: Mapping[str, Any], environ: Mapping[str, str] | None = None
) -> Credentials:
    """Merge keyword credentials with the provider's documented variables, then ``M2MAUTH_<NAME>``."""
    unknown = sorted(set(given) - set(CREDENTIAL_NAMES))
    if unknown:
        raise ConfigError(
            f"unknown credential keyword(s): {', '.join(unknown)}",
            code="unknown_credential",
            hint="Credential keywords are: " + ", ".join(CREDENTIAL_NAMES) + ".",
        )
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    used: list[str] = []
    for name in CREDENTIAL_NAMES:
        value = given.get(name)
        if value is None:
            for variable in (*profile.env.get(name, ()), f"M2MAUTH_{name.upper()}"):
                if env.get(variable):
                    value = env[variable]
                    used.append(variable)
                    break
        if value is not None and name not in ("service_key", "private_key") and not isinstance(value, str):
            raise ConfigError(f"{name} must be text, not {type(value).__name__}", code="invalid_credential")
        if isinstance(value, str) and not _is_unicode(value):
            raise ConfigError(
                f"{name} is not valid text: it holds bytes that are not UTF-8",
                code="invalid_credential",
                hint="Check the shell's or the file's encoding (the value must be UTF-8 text).",
            )
        values[name] = value
    return Credentials(**values, from_env=tuple(used))
