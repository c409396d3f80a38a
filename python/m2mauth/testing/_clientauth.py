"""Client authentication at a token endpoint.

The five methods of OpenID Connect Core §9 / RFC 7591: ``client_secret_basic`` (RFC 6749
§2.3.1, decoded per the provider's ``basic_encoding``), ``client_secret_post``,
``client_secret_jwt`` and ``private_key_jwt`` (RFC 7523 §2.2 client assertions) and
``none`` (a public client naming itself with ``client_id``). Each endpoint says which it
accepts with a :class:`ClientAuthPolicy`.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from dataclasses import dataclass
from urllib.parse import unquote_plus

from ._http import Form, OAuthError, Request, invalid_client
from ._jose import (
    MalformedJWT,
    algorithms_for,
    audience_matches,
    parse_jwt,
    verify_hs256,
    verify_signature,
)
from ._state import JWT_BEARER_CLIENT_ASSERTION, Client, State

BASIC = "client_secret_basic"
POST = "client_secret_post"
SECRET_JWT = "client_secret_jwt"
PRIVATE_KEY_JWT = "private_key_jwt"
NONE = "none"

LEEWAY = 60


@dataclass(frozen=True)
class ClientAuthPolicy:
    """Which methods an endpoint accepts and how strict it is about client assertions."""

    methods: frozenset[str]
    private_key_algorithms: tuple[str, ...] | None = None  # None: whatever the key can do
    require_kid: bool = False
    require_jti: bool = True


@dataclass(frozen=True)
class AuthenticatedClient:
    client: Client
    method: str


def decode_basic(value: str, encoding: str) -> tuple[str, str]:
    """Client id and secret from ``Authorization: Basic ...``.

    ``rfc``: base64, then form-decode each half (RFC 6749 §2.3.1). ``raw``: base64 only.
    """
    scheme, _, credentials = value.strip().partition(" ")
    if scheme.lower() != "basic":
        raise invalid_client(
            f"Unsupported Authorization scheme '{scheme}' at the token endpoint; use Basic",
            basic_attempted=True,
        )
    try:
        text = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise invalid_client("Malformed Basic credentials", basic_attempted=True) from None
    if ":" not in text:
        raise invalid_client("Malformed Basic credentials (no ':')", basic_attempted=True)
    client_id, _, secret = text.partition(":")
    if encoding == "rfc":
        try:
            return unquote_plus(client_id, errors="strict"), unquote_plus(secret, errors="strict")
        except UnicodeDecodeError:
            raise invalid_client("Malformed Basic credentials (bad percent-encoding)", basic_attempted=True) from None
    return client_id, secret


def _same_secret(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def _check_basic(state: State, req: Request, form: Form, profile: str) -> AuthenticatedClient:
    header = req.header("Authorization") or ""
    client_id, secret = decode_basic(header, state.basic_encoding)
    body_client_id = form.get("client_id")
    if body_client_id is not None and body_client_id != client_id:
        raise invalid_client("client_id in the body does not match the Authorization header", basic_attempted=True)
    client = state.client(profile, client_id)
    if client is not None and client.secret is not None and _same_secret(secret, client.secret):
        return AuthenticatedClient(client, BASIC)
    description = "Invalid client or Invalid client credentials"
    other = "raw" if state.basic_encoding == "rfc" else "rfc"
    try:
        other_id, other_secret = decode_basic(header, other)
    except OAuthError:
        other_id, other_secret = "", ""
    other_client = state.client(profile, other_id) if other_id else None
    if other_client is not None and other_client.secret is not None and _same_secret(other_secret, other_client.secret):
        description += (
            f" (they would match if this server decoded Basic credentials the '{other}' way; "
            f"it uses '{state.basic_encoding}', see RFC 6749 §2.3.1)"
        )
    raise invalid_client(description, basic_attempted=True)


def _check_post(state: State, form: Form, profile: str) -> AuthenticatedClient:
    client_id = form.get("client_id")
    secret = form.get("client_secret") or ""
    if client_id is None:
        raise invalid_client("client_secret_post needs client_id in the body")
    client = state.client(profile, client_id)
    if client is None or client.secret is None or not _same_secret(secret, client.secret):
        raise invalid_client("Invalid client or Invalid client credentials")
    return AuthenticatedClient(client, POST)


def _check_assertion(
    state: State, form: Form, profile: str, token_url: str, policy: ClientAuthPolicy
) -> AuthenticatedClient:
    assertion_type = form.get("client_assertion_type")
    assertion = form.get("client_assertion")
    if assertion_type != JWT_BEARER_CLIENT_ASSERTION:
        raise OAuthError("invalid_request", f"client_assertion_type must be '{JWT_BEARER_CLIENT_ASSERTION}'")
    if assertion is None:
        raise OAuthError("invalid_request", "Missing 'client_assertion'")
    try:
        token = parse_jwt(assertion)
    except MalformedJWT:
        raise invalid_client("client_assertion is not a well-formed JWT") from None

    issuer = token.string_claim("iss")
    body_client_id = form.get("client_id")
    if body_client_id is not None and body_client_id != issuer:
        raise invalid_client("client_id does not match the client assertion's 'iss'")
    client = state.client(profile, issuer) if issuer else None
    if client is None:
        raise invalid_client("Unknown client: the assertion's 'iss' must be a registered client_id")
    if token.string_claim("sub") != issuer:
        raise invalid_client("The client assertion's 'iss' and 'sub' must both be the client_id")

    if token.alg == "HS256":
        if SECRET_JWT not in policy.methods or client.secret is None:
            raise invalid_client("client_secret_jwt (HS256) is not accepted for this client")
        if not verify_hs256(token, client.secret):
            raise invalid_client("Invalid client assertion signature")
        method = SECRET_JWT
    else:
        key = client.public_key
        if PRIVATE_KEY_JWT not in policy.methods or key is None:
            raise invalid_client(f"private_key_jwt ({token.alg}) is not accepted for this client")
        usable = algorithms_for(key)
        allowed = tuple(alg for alg in (policy.private_key_algorithms or usable) if alg in usable)
        if token.alg not in allowed:
            raise invalid_client(f"Only {', '.join(allowed)} client assertions are accepted (got {token.alg})")
        if (policy.require_kid or token.kid is not None) and client.kid is not None:
            if token.kid != client.kid:
                raise invalid_client("The client assertion's header 'kid' does not match the registered key")
        if not verify_signature(token, key, (token.alg,)):
            raise invalid_client("Invalid client assertion signature")
        method = PRIVATE_KEY_JWT

    if not audience_matches(token.claims.get("aud"), token_url):
        raise invalid_client(f"The client assertion's 'aud' must be the token endpoint {token_url}")
    now = state.now()
    exp = token.number_claim("exp")
    if exp is None:
        raise invalid_client("The client assertion has no 'exp' claim")
    if exp + LEEWAY < now:
        raise invalid_client("The client assertion has expired")
    nbf = token.number_claim("nbf")
    if nbf is not None and nbf - LEEWAY > now:
        raise invalid_client("The client assertion is not valid yet ('nbf')")
    jti = token.string_claim("jti")
    if jti is None and policy.require_jti:
        raise invalid_client("The client assertion has no 'jti' claim")
    if jti is not None and not state.remember_jti(profile, client.client_id, jti, exp + LEEWAY):
        raise invalid_client("The client assertion's 'jti' was already used (replay)")
    return AuthenticatedClient(client, method)


def authenticate(
    state: State,
    req: Request,
    form: Form,
    *,
    profile: str,
    token_url: str,
    policy: ClientAuthPolicy,
    required: bool,
) -> AuthenticatedClient | None:
    """Authenticate the client of a token request, or raise ``invalid_client`` (401)."""
    presented: list[str] = []
    if req.header("Authorization") is not None:
        presented.append(BASIC)
    if form.has("client_secret"):
        presented.append(POST)
    if form.has("client_assertion") or form.has("client_assertion_type"):
        presented.append("assertion")
    if len(presented) > 1:
        raise OAuthError("invalid_request", "Use exactly one client authentication method (RFC 6749 §2.3)")

    if presented == [BASIC]:
        if BASIC not in policy.methods:
            raise invalid_client("client_secret_basic is not accepted here", basic_attempted=True)
        return _check_basic(state, req, form, profile)
    if presented == [POST]:
        if POST not in policy.methods:
            raise invalid_client("client_secret_post is not accepted here")
        return _check_post(state, form, profile)
    if presented == ["assertion"]:
        if SECRET_JWT not in policy.methods and PRIVATE_KEY_JWT not in policy.methods:
            raise invalid_client("Client assertions are not accepted here")
        return _check_assertion(state, form, profile, token_url, policy)

    client_id = form.get("client_id")
    if client_id is not None and NONE in policy.methods:
        client = state.client(profile, client_id)
        if client is None:
            raise invalid_client(f"Unknown client_id '{client_id}'")
        if not client.is_public:
            raise invalid_client("Client authentication is required for this client")
        return AuthenticatedClient(client, NONE)
    if required:
        raise invalid_client("Client authentication is required")
    return None


def require_client(
    state: State,
    req: Request,
    form: Form,
    *,
    profile: str,
    token_url: str,
    policy: ClientAuthPolicy,
) -> AuthenticatedClient:
    """Like :func:`authenticate` with ``required=True``, never ``None``."""
    result = authenticate(state, req, form, profile=profile, token_url=token_url, policy=policy, required=True)
    if result is None:  # authenticate() raised already; kept for the type checker
        raise invalid_client("Client authentication is required")
    return result
