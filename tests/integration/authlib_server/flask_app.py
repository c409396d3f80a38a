"""The Flask application: the token endpoint, the resource, stats and metadata, wired to Authlib."""

from __future__ import annotations

import json
import logging
import time
from typing import Any, cast

from authlib.common.security import generate_token  # type: ignore[import-untyped, unused-ignore]
from authlib.integrations.flask_oauth2 import ResourceProtector  # type: ignore[import-untyped, unused-ignore]
from authlib.oauth2 import OAuth2Error  # type: ignore[import-untyped, unused-ignore]
from authlib.oauth2.rfc6749 import InvalidRequestError  # type: ignore[import-untyped, unused-ignore]
from authlib.oauth2.rfc6750 import (  # type: ignore[import-untyped, unused-ignore]
    BearerTokenGenerator,
    InsufficientScopeError,
    InvalidTokenError,
)
from authorization_server import TestAuthorizationServer
from bearer_validator import StoredBearerTokenValidator
from client_assertion import ClientAssertionAuth
from flask import Flask, Response, g, jsonify, request
from models import Client, Token
from protocol import AUTH_METHODS, FORM_MIMETYPE, KNOWN_GRANTS, REALM, RESOURCE_PATH, TOKEN_PATH
from server_state import ServerState
from token_grants import AssertionGrant, ClientCredentialsGrant, PasswordGrant, RefreshTokenGrant

LOG = logging.getLogger("authlib-test-server")


def _error_response(error: OAuth2Error) -> Response:
    status, body, headers = error()
    return Response(json.dumps(body), status=status, headers=headers)


def _precheck_token_request() -> OAuth2Error | None:
    """RFC 6749 rules that Authlib leaves to the application."""
    if request.args:
        # §2.3.1 / §3.2: parameters (and credentials) go in the body, not the URI
        return InvalidRequestError(description="Parameters must be sent in the request body.")
    if request.mimetype != FORM_MIMETYPE:
        # §4.4.2 etc.: application/x-www-form-urlencoded only
        return InvalidRequestError(description="The body must be application/x-www-form-urlencoded.")
    for name in request.form:
        if len(request.form.getlist(name)) > 1:
            # §3.2: parameters MUST NOT be included more than once
            return InvalidRequestError(description=f"Repeated parameter {name}.")
    mechanisms = 0
    authorization = request.headers.get("Authorization", "")
    if authorization:
        mechanisms += 1
    if "client_secret" in request.form:
        mechanisms += 1
    if "client_assertion" in request.form or "client_assertion_type" in request.form:
        mechanisms += 1
    if mechanisms > 1:
        # §2.3: more than one authentication mechanism in one request
        return InvalidRequestError(description="More than one client authentication mechanism was used.")
    return None


def create_app(state: ServerState) -> Flask:
    """Wire Authlib's server parts into a Flask application."""
    app = Flask("authlib_test_server")
    app.config["MAX_CONTENT_LENGTH"] = 256 * 1024

    authorization = TestAuthorizationServer(app, state)

    def expires_in(client: Client, grant_type: str) -> int:
        return client.expires_in

    def access_token_value(**_kwargs: Any) -> str:
        return str(generate_token(42))

    def refresh_token_value(**_kwargs: Any) -> str:
        return str(generate_token(48))

    authorization.register_token_generator(
        "default",
        BearerTokenGenerator(access_token_value, refresh_token_value, expires_in),
    )
    for method in ("client_secret_jwt", "private_key_jwt"):
        authorization.register_client_auth_method(method, ClientAssertionAuth(method, state))
    authorization.register_grant(ClientCredentialsGrant)
    authorization.register_grant(PasswordGrant)
    authorization.register_grant(RefreshTokenGrant)
    authorization.register_grant(AssertionGrant)

    protector = ResourceProtector()
    protector.register_token_validator(StoredBearerTokenValidator(state))

    @app.post(TOKEN_PATH)
    def token_endpoint() -> Response:
        grant_type = request.form.get("grant_type") or "(missing)"
        if grant_type not in KNOWN_GRANTS and grant_type != "(missing)":
            grant_type = "(other)"
        with state.lock:
            state.token_requests[grant_type] += 1
        problem = _precheck_token_request()
        if problem is not None:
            response = _error_response(problem)
        else:
            if state.token_delay:
                time.sleep(state.token_delay)
            with state.lock:  # serialises refresh-token rotation, jti checks, counts
                response = cast(Response, authorization.create_token_response())
        if response.status_code != 200:
            with state.lock:
                state.token_errors[grant_type] += 1
        _log_token_response(grant_type, response)
        return response

    @app.get(RESOURCE_PATH)
    def resource() -> Response:
        required = request.args.get("scope")
        try:
            token = cast(Token, protector.acquire_token([required] if required else None))
        except InsufficientScopeError as error:
            response = _error_response(error)
            response.headers["WWW-Authenticate"] = (
                f'Bearer realm="{REALM}", error="insufficient_scope", scope="{required}"'
            )
            outcome = "insufficient_scope"
        except InvalidTokenError as error:
            response = _error_response(error)
            outcome = "invalid_token"
        except OAuth2Error as error:
            # missing header or another scheme: answer with invalid_token as well
            response = _error_response(
                InvalidTokenError(description=error.description or "No bearer token.", realm=REALM)
            )
            outcome = "invalid_token"
        else:
            response = jsonify(
                ok=True,
                client_id=token.client_id,
                scope=token.scope,
                sub=token.user,
                grant_type=token.grant_type,
                auth_method=token.auth_method,
            )
            outcome = "ok"
        with state.lock:
            state.resource_requests[outcome] += 1
        LOG.info("GET %s -> %s %s", RESOURCE_PATH, response.status_code, outcome)
        return response

    @app.get("/_stats")
    def stats() -> Response:
        return jsonify(state.stats())

    @app.post("/_stats/reset")
    def reset_stats() -> Response:
        state.reset_stats()
        return jsonify(ok=True)

    @app.get("/.well-known/oauth-authorization-server")
    def metadata() -> Response:
        return jsonify(
            issuer=state.base_url,
            token_endpoint=state.token_url,
            grant_types_supported=sorted(KNOWN_GRANTS),
            token_endpoint_auth_methods_supported=list(AUTH_METHODS),
            token_endpoint_auth_signing_alg_values_supported=state.assertion_algorithms or ["HS256", "RS256", "ES256"],
            response_types_supported=[],
        )

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Response:
        code = getattr(error, "code", None)
        if isinstance(code, int) and 400 <= code < 600:
            return Response(
                json.dumps({"error": "invalid_request" if code < 500 else "server_error"}),
                status=code,
                mimetype="application/json",
            )
        LOG.error("unhandled %s on %s %s", type(error).__name__, request.method, request.path)
        return Response(
            json.dumps({"error": "server_error"}),
            status=500,
            mimetype="application/json",
        )

    return app


def _log_token_response(grant_type: str, response: Response) -> None:
    """One line per token request, with no secret in it."""
    outcome = ""
    if response.status_code != 200:
        try:
            body = json.loads(response.get_data(as_text=True))
            outcome = f" error={body.get('error', '')}"
            description = str(body.get("error_description", ""))[:160]
            if description:
                outcome += f" ({description})"
        except (ValueError, AttributeError):
            outcome = " error=?"
    LOG.info(
        "POST %s grant_type=%s client_id=%s auth=%s -> %s%s",
        TOKEN_PATH,
        grant_type,
        g.get("issued_client_id") or "-",
        g.get("issued_auth_method") or "-",
        response.status_code,
        outcome,
    )
