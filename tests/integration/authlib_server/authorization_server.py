"""Authlib's Flask AuthorizationServer, carrying the server state and storing the tokens it issues."""

from __future__ import annotations

import time
from typing import Any, cast

from authlib.integrations.flask_oauth2 import AuthorizationServer  # type: ignore[import-untyped, unused-ignore]
from flask import Flask, g
from models import Client, Token
from server_state import ServerState


class TestAuthorizationServer(AuthorizationServer):  # type: ignore[misc]
    """Authlib's Flask AuthorizationServer, carrying our state for the grants."""

    def __init__(self, app: Flask, state: ServerState) -> None:
        self.state = state
        super().__init__(app, query_client=self._lookup_client, save_token=self._store_token)

    def _lookup_client(self, client_id: str) -> Client | None:
        return self.state.clients.get(client_id)

    def _store_token(self, token: dict[str, Any], oauth_request: Any) -> None:
        client = oauth_request.client
        user = getattr(oauth_request, "user", None)
        grant_type = str(oauth_request.payload.grant_type)
        auth_method = getattr(oauth_request, "auth_method", None)
        if client.is_issuer:
            auth_method = "jwt-bearer-assertion"
        record = Token(
            access_token=token["access_token"],
            refresh_token=token.get("refresh_token"),
            client_id=client.get_client_id(),
            scope=token.get("scope", "") or "",
            user=user.get_user_id() if user is not None else None,
            grant_type=grant_type,
            auth_method=auth_method,
            issued_at=time.time(),
            expires_in=int(token["expires_in"]),
        )
        self.state.save_token(record)
        g.issued_client_id = record.client_id
        g.issued_auth_method = auth_method


def state_of(server: Any) -> ServerState:
    return cast(TestAuthorizationServer, server).state
