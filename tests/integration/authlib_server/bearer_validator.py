"""RFC 6750 bearer tokens at the resource endpoint, looked up in the server state."""

from __future__ import annotations

from authlib.oauth2.rfc6750 import BearerTokenValidator  # type: ignore[import-untyped, unused-ignore]
from models import Token
from protocol import REALM
from server_state import ServerState


class StoredBearerTokenValidator(BearerTokenValidator):  # type: ignore[misc]
    def __init__(self, state: ServerState) -> None:
        super().__init__(realm=REALM)
        self.state = state

    def authenticate_token(self, token_string: str) -> Token | None:
        return self.state.find_access_token(token_string)
