"""The paths, grant types and client authentication methods the server speaks."""

from __future__ import annotations

TOKEN_PATH = "/oauth/token"
RESOURCE_PATH = "/api/resource"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
FORM_MIMETYPE = "application/x-www-form-urlencoded"
REALM = "m2mauth-authlib-test"

AUTH_METHODS: tuple[str, ...] = (
    "client_secret_basic",
    "client_secret_post",
    "client_secret_jwt",
    "private_key_jwt",
    "none",  # last: it only matches public clients that sent nothing else
)
KNOWN_GRANTS = frozenset({"client_credentials", "password", "refresh_token", JWT_BEARER})
