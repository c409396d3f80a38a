"""The grants the token endpoint accepts: client credentials, password, refresh token, RFC 7523 JWT bearer."""

from __future__ import annotations

from typing import Any, ClassVar

from authlib.oauth2.rfc6749 import InvalidGrantError, grants  # type: ignore[import-untyped, unused-ignore]
from authlib.oauth2.rfc7523 import JWTBearerGrant  # type: ignore[import-untyped, unused-ignore]
from authorization_server import state_of
from joserfc import jwt as jose_jwt
from joserfc.errors import JoseError
from joserfc.jwk import Key, KeySet
from models import Client, Token, User
from protocol import AUTH_METHODS


class ClientCredentialsGrant(grants.ClientCredentialsGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = list(AUTH_METHODS)


class PasswordGrant(grants.ResourceOwnerPasswordCredentialsGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = list(AUTH_METHODS)

    def authenticate_user(self, username: str, password: str) -> User:
        user = state_of(self.server).check_user(username, password)
        if user is None:
            # RFC 6749 §5.2: invalid resource owner credentials are invalid_grant
            raise InvalidGrantError(description="Invalid resource owner credentials.")
        return user


class RefreshTokenGrant(grants.RefreshTokenGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = list(AUTH_METHODS)
    INCLUDE_NEW_REFRESH_TOKEN = True  # rotation: each use issues a new one

    def authenticate_refresh_token(self, refresh_token: str) -> Token | None:
        return state_of(self.server).find_refresh_token(refresh_token)

    def authenticate_user(self, refresh_token: Token) -> User | None:
        return refresh_token.get_user()

    def revoke_old_credential(self, refresh_token: Token) -> None:
        state_of(self.server).revoke_refresh_token(refresh_token)


class AssertionGrant(JWTBearerGrant):  # type: ignore[misc]
    """RFC 7523 §2.1 JWT bearer authorization grant."""

    CLAIMS_OPTIONS: ClassVar[dict[str, dict[str, Any]]] = {
        "iss": {"essential": True},
        "sub": {"essential": True},  # RFC 7523 §3 item 2: sub is required
        "aud": {"essential": True},
        "exp": {"essential": True},
    }

    def __init__(self, oauth_request: Any, server: Any) -> None:
        super().__init__(oauth_request, server)
        self.LEEWAY = state_of(server).leeway

    def process_assertion_claims(self, assertion: str) -> Any:
        state = state_of(self.server)
        if state.assertion_algorithms is None:
            return super().process_assertion_claims(assertion)
        _headers, claims = self.extract_assertion(assertion)
        issuer = claims.get("iss")
        client = self.resolve_issuer_client(issuer) if isinstance(issuer, str) else None
        if client is None:
            raise InvalidGrantError(description="Unknown issuer.")
        try:
            token = jose_jwt.decode(
                assertion,
                self.resolve_client_public_key(client),
                algorithms=state.assertion_algorithms,
            )
        except (JoseError, ValueError) as error:
            raise InvalidGrantError(description="Invalid JWT assertion.") from error
        self.verify_claims(token.claims)
        return token.claims

    def resolve_issuer_client(self, issuer: str) -> Client | None:
        return state_of(self.server).issuers.get(issuer)

    def resolve_client_public_key(self, client: Client) -> Key | KeySet:
        if client.verify_key is None:
            raise InvalidGrantError(description="The issuer has no verification key.")
        return client.verify_key

    def authenticate_user(self, subject: str) -> User | None:
        client = self.request.client
        if isinstance(client, Client) and subject in client.subjects:
            return User(subject)
        return None

    def has_granted_permission(self, client: Client, user: User) -> bool:
        return user.username in client.subjects

    def get_audiences(self) -> list[str]:
        return state_of(self.server).audiences
