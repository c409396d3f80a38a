"""Client authentication at the token endpoint (RFC 6749 §2.3, RFC 7523 §2.2, OIDC Core §9).

``none``, ``client_secret_basic``, ``client_secret_post``, ``client_secret_jwt`` and
``private_key_jwt``. Each adds headers and form fields to a token request; nothing is sent here.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from urllib.parse import quote

from .assertions import CLIENT_ASSERTION_LIFETIME, Clock, JtiSource, make_assertion
from .errors import ConfigError
from .keys import Key, secret_key

__all__ = ["AUTH_METHODS", "CLIENT_ASSERTION_TYPE", "ClientAuth", "basic_authorization"]

AUTH_METHODS = ("none", "client_secret_basic", "client_secret_post", "client_secret_jwt", "private_key_jwt")
CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
BASIC_ENCODINGS = ("rfc", "raw")


def basic_authorization(client_id: str, client_secret: str, encoding: str = "rfc") -> str:
    """The Authorization header value for client_secret_basic.

    ``rfc``: RFC 6749 §2.3.1 encodes id and secret (application/x-www-form-urlencoded, space as %20)
    before base64. ``raw``: what Authlib,
    requests and httpx send (plain UTF-8), for servers that do not decode.
    """
    if encoding == "rfc":
        # Space as %20, not '+': form decoders read both, and servers that only percent-decode
        # (Authlib's extract_basic_authorization uses unquote) would turn '+' into a literal plus.
        user, pw = quote(client_id, safe=""), quote(client_secret, safe="")
    elif encoding == "raw":
        user, pw = client_id, client_secret
    else:
        raise ConfigError(f"unknown basic encoding {encoding!r}", code="invalid_option", hint="Use 'rfc' or 'raw'.")
    return "Basic " + base64.b64encode(f"{user}:{pw}".encode()).decode("ascii")


@dataclass(frozen=True, repr=False)
class ClientAuth:
    """How a client proves who it is. Its repr names the method and client, never the secret."""

    method: str
    client_id: str
    client_secret: str | None = None
    key: Key | None = None
    alg: str | None = None
    basic_encoding: str = "rfc"
    assertion_lifetime: int = CLIENT_ASSERTION_LIFETIME

    def __post_init__(self) -> None:
        # A number or bytes given as an id or secret would be sent as its repr (b'...') or fail deep in
        # the encoder: name the field. Only the type is shown, never the value (it may be the secret).
        for name in ("client_id", "client_secret"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise ConfigError(
                    f"ClientAuth {name}= must be text, not {type(value).__name__}",
                    code="invalid_option",
                    hint=f"Pass {name}= as a string (e.g. str(...) of what your configuration holds).",
                )
        if self.method not in AUTH_METHODS:
            raise ConfigError(
                f"unknown client authentication method {self.method!r}",
                code="invalid_auth_method",
                hint="Use one of: " + ", ".join(AUTH_METHODS) + ".",
            )
        if not self.client_id:
            raise ConfigError(
                f"{self.method} needs a client_id",
                code="missing_credential",
                hint="Pass client_id= (or the provider's environment variable).",
            )
        if self.method in ("client_secret_basic", "client_secret_post", "client_secret_jwt") and not self.client_secret:
            raise ConfigError(
                f"{self.method} needs a client_secret",
                code="missing_credential",
                hint="Pass client_secret= (or the provider's environment variable).",
            )
        if self.method == "private_key_jwt" and self.key is None:
            raise ConfigError(
                "private_key_jwt needs a private_key",
                code="missing_credential",
                hint="Pass private_key= with a PEM path, PEM text or JWK.",
            )
        if self.basic_encoding not in BASIC_ENCODINGS:
            raise ConfigError(
                f"unknown basic encoding {self.basic_encoding!r}", code="invalid_option", hint="Use 'rfc' or 'raw'."
            )
        if self.method == "private_key_jwt" and self.key is not None:
            self.key.check_algorithm(self.alg or self.key.default_algorithm)

    def apply(
        self, token_url: str, *, now: int | None = None, clock: Clock | None = None, jti_source: JtiSource | None = None
    ) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        """Headers and form fields this method adds to a request to ``token_url``."""
        if self.method == "client_secret_basic":
            assert self.client_secret is not None
            return [("Authorization", basic_authorization(self.client_id, self.client_secret, self.basic_encoding))], []
        if self.method == "client_secret_post":
            assert self.client_secret is not None
            return [], [("client_id", self.client_id), ("client_secret", self.client_secret)]
        if self.method == "none":
            return [], [("client_id", self.client_id)]
        if self.method == "client_secret_jwt":
            assert self.client_secret is not None
            key = secret_key(self.client_secret)
        else:
            assert self.key is not None
            key = self.key
        assertion = make_assertion(
            key,
            issuer=self.client_id,
            subject=self.client_id,
            audience=token_url,
            alg=self.alg,
            lifetime=self.assertion_lifetime,
            with_jti=True,
            now=now,
            clock=clock,
            jti_source=jti_source,
        )
        return [], [("client_assertion_type", CLIENT_ASSERTION_TYPE), ("client_assertion", assertion.jwt)]

    def __repr__(self) -> str:
        return f"<ClientAuth {self.method} client_id={self.client_id!r}>"
