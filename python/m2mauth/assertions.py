"""JWT assertions (RFC 7523): claim sets, headers, lifetimes and jti.

Pure: time and randomness come from an injected clock and jti source, so the same inputs give
the same bytes (that is what the spec vectors pin).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from . import jws
from .arguments import check_options
from .errors import ConfigError
from .keys import Key

__all__ = [
    "Assertion",
    "Clock",
    "JtiSource",
    "build_claims",
    "build_header",
    "make_assertion",
    "new_jti",
]

Clock = Callable[[], float]
JtiSource = Callable[[], str]

#: RFC 7523 §3 leaves lifetimes to the server; client assertions are used once, so keep them short.
CLIENT_ASSERTION_LIFETIME = 300


def new_jti() -> str:
    """A fresh, unguessable JWT ID (RFC 7519 §4.1.7)."""
    return secrets.token_urlsafe(24)


def build_header(alg: str, kid: str | None = None, typ: str | None = "JWT") -> dict[str, str]:
    header = {"alg": alg}
    if typ:
        header["typ"] = typ
    if kid:
        header["kid"] = kid
    return header


def build_claims(
    *,
    issuer: str,
    audience: str | list[str],
    now: int,
    lifetime: int,
    subject: str | None = None,
    jti: str | None = None,
    not_before: bool = False,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The claim set in m2mauth's fixed order: iss, sub, aud, iat, nbf, exp, jti, extras."""
    claims: dict[str, Any] = {"iss": issuer}
    if subject is not None:
        claims["sub"] = subject
    claims["aud"] = audience
    claims["iat"] = now
    if not_before:
        claims["nbf"] = now
    claims["exp"] = now + lifetime
    if jti is not None:
        claims["jti"] = jti
    for name, value in (extra or {}).items():
        if name in claims:
            raise ConfigError(f"extra claim {name!r} would overwrite a registered claim", code="invalid_claims")
        claims[name] = value
    return claims


@dataclass(frozen=True, repr=False)
class Assertion:
    """A signed JWT and the stages that made it (for vectors, diagnosis and demos)."""

    header: dict[str, Any]
    claims: dict[str, Any]
    header_json: str
    claims_json: str
    signing_input: str
    jwt: str

    @property
    def redacted(self) -> str:
        """The JWT with its signature replaced, safe to print."""
        return self.signing_input + ".<signature redacted>"

    def __repr__(self) -> str:
        return (
            f"<Assertion alg={self.header.get('alg')!r} iss={self.claims.get('iss')!r} exp={self.claims.get('exp')!r}>"
        )


def make_assertion(
    key: Key,
    *,
    issuer: str,
    audience: str | list[str],
    subject: str | None = None,
    alg: str | None = None,
    kid: str | None = None,
    lifetime: int = 3600,
    max_lifetime: int | None = None,
    jti: str | None = None,
    with_jti: bool = False,
    not_before: bool = False,
    extra_claims: Mapping[str, Any] | None = None,
    typ: str | None = "JWT",
    now: int | None = None,
    clock: Clock | None = None,
    jti_source: JtiSource | None = None,
) -> Assertion:
    """Build and sign an RFC 7523 assertion.

    The algorithm defaults to the key's own (RS256 for RSA, HS256 for a secret); a mismatch is
    refused with ``key_algorithm_mismatch`` before anything is signed.
    """
    check_options(signing_key=key, issuer=issuer, audience=audience, subject=subject, alg=alg, kid=kid, typ=typ)
    check_options(max_lifetime=max_lifetime, jti=jti, with_jti=with_jti, not_before=not_before, now=now)
    check_options(extra_claims=extra_claims, clock=clock, jti_source=jti_source)
    alg = alg or key.default_algorithm
    key.check_algorithm(alg)
    if not isinstance(lifetime, int) or isinstance(lifetime, bool) or lifetime <= 0:
        raise ConfigError(
            f"assertion lifetime must be a positive number of seconds, not {lifetime!r}", code="invalid_lifetime"
        )
    if max_lifetime is not None and lifetime > max_lifetime:
        raise ConfigError(
            f"assertion lifetime {lifetime} s is over the provider's cap of {max_lifetime} s",
            code="lifetime_exceeded",
            hint=f"Use a lifetime of at most {max_lifetime} seconds (exp - iat).",
        )
    if not issuer:
        raise ConfigError("the assertion has no issuer (iss)", code="missing_claim")
    if not audience:
        raise ConfigError(
            "the assertion has no audience (aud)", code="missing_claim", hint="The audience is the token endpoint URL."
        )
    if now is None:
        now = int((clock or time.time)())
    if jti is None and with_jti:
        jti = (jti_source or new_jti)()
    header = build_header(alg, kid if kid is not None else key.kid, typ)
    claims = build_claims(
        issuer=issuer,
        subject=subject,
        audience=audience,
        now=now,
        lifetime=lifetime,
        jti=jti,
        not_before=not_before,
        extra=extra_claims,
    )
    header_json = jws.json_segment(header)
    claims_json = jws.json_segment(claims)
    signing_input = jws.signing_input(header_json, claims_json)
    return Assertion(header, claims, header_json, claims_json, signing_input, jws.sign(signing_input, key, alg))
