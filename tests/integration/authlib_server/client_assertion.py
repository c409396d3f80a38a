"""RFC 7523 client authentication (client_secret_jwt, private_key_jwt) on Authlib's JWTBearerClientAssertion."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from authlib.oauth2.rfc6749 import InvalidClientError  # type: ignore[import-untyped, unused-ignore]
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion  # type: ignore[import-untyped, unused-ignore]
from joserfc import jwt as jose_jwt
from joserfc.errors import JoseError
from joserfc.jwk import Key, KeySet
from models import Client
from server_state import ServerState


class ClientAssertionAuth(JWTBearerClientAssertion):  # type: ignore[misc]
    """RFC 7523 client authentication, bound to one method name.

    Authlib ships one ``JWTBearerClientAssertion``; registered twice, under
    ``client_secret_jwt`` and ``private_key_jwt``, each copy only speaks for
    clients registered with its own method, so a client can never use the
    other kind of assertion.
    """

    def __init__(self, method: str, state: ServerState) -> None:
        super().__init__(validate_jti=True, leeway=state.leeway)
        self.CLIENT_AUTH_METHOD = method
        self.state = state

    def __call__(self, query_client: Any, oauth_request: Any) -> Any:
        form = oauth_request.form
        assertion = form.get("client_assertion")
        if form.get("client_assertion_type") == self.CLIENT_ASSERTION_TYPE and assertion:
            _headers, claims = self.extract_assertion(assertion)
            subject = claims.get("sub")
            client = query_client(subject) if isinstance(subject, str) else None
            if client is not None and client.token_endpoint_auth_method != self.CLIENT_AUTH_METHOD:
                return None  # the other assertion method (or none) speaks for it
        return super().__call__(query_client, oauth_request)

    def get_audiences(self) -> list[str]:
        return self.state.audiences

    def validate_jti(self, claims: Mapping[str, Any], jti: Any) -> bool:
        if not isinstance(jti, str) or not jti:
            return False
        exp = claims.get("exp")
        return self.state.use_jti(str(claims["sub"]), jti, float(exp) if exp else time.time())

    def resolve_client_public_key(self, client: Client) -> Key | KeySet:
        if client.verify_key is None:
            raise InvalidClientError(description="The client has no verification key.")
        return client.verify_key

    def process_assertion_claims(self, assertion: str, resolve_key: Any) -> Any:
        algorithms = self.state.assertion_algorithms
        if algorithms is None:
            return super().process_assertion_claims(assertion, resolve_key)
        try:
            token = jose_jwt.decode(assertion, resolve_key, algorithms=algorithms)
        except JoseError as error:
            raise InvalidClientError(description=error.description) from error
        self.verify_claims(token.claims)
        return token.claims
