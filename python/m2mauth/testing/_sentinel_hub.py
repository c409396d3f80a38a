"""Sentinel Hub (commercial): Keycloak realm ``main``, ``POST /auth/realms/main/protocol/openid-connect/token``.

Only ``client_credentials``, with the secret in the form body (as sentinelhub-py sends it) or by
HTTP Basic. A wrong id or secret answers Keycloak's ``401 invalid_client`` "Invalid client or
Invalid client credentials" (the text sentinelhub-py users see, sentinel-hub/sentinelhub-py#534).
"""

from __future__ import annotations

from ._clientauth import BASIC, POST, ClientAuthPolicy, require_client
from ._http import Request, Response, require_form, require_grant_type
from ._keycloak import MISSING_GRANT_TYPE, UNSUPPORTED_GRANT_TYPE, service_account_answer
from ._state import SENTINEL_HUB, SH_TOKEN_PATH, State

CONFIDENTIAL = ClientAuthPolicy(methods=frozenset({BASIC, POST}))


def token_endpoint(state: State, req: Request) -> Response:
    form = require_form(req)
    require_grant_type(form, "client_credentials", missing=MISSING_GRANT_TYPE, unsupported=UNSUPPORTED_GRANT_TYPE)
    client = require_client(
        state, req, form, profile=SENTINEL_HUB, token_url=state.url(SH_TOKEN_PATH), policy=CONFIDENTIAL
    ).client
    return service_account_answer(state, SENTINEL_HUB, client.client_id, "email profile")
