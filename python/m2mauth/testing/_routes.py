"""Which endpoint answers which path: the routes table of the local provider.

Each path of an emulated service maps to the endpoint function that answers it, the methods it
allows, the profile it belongs to (for counting and the request log) and whether it is a token
endpoint (token endpoints are counted and are where queued faults strike). The protected
resource, which accepts any unexpired token issued here, lives here too: it belongs to no profile.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from . import (
    _cdse,
    _climate_engine,
    _clms,
    _dt,
    _earthdata,
    _egi,
    _eumetsat,
    _generic,
    _keycloak,
    _maap,
    _openaire,
    _sentinel_hub,
    _usgs,
)
from ._http import OAuthError, Request, Response, json_response
from ._state import (
    CDSE,
    CDSE_CERTS_PATH,
    CDSE_DEVICE_PATH,
    CDSE_DISCOVERY_PATH,
    CDSE_TOKEN_PATH,
    CDSE_VERIFICATION_PATH,
    CE_TOKEN_PATH,
    CLIMATE_ENGINE,
    CLMS,
    CLMS_TOKEN_PATH,
    DEVICE_APPROVE_PATH,
    DEVICE_DENY_PATH,
    DT,
    DT_TOKEN_PATH,
    EARTHDATA,
    EGI,
    EUMETSAT,
    GENERIC,
    GENERIC_DEVICE_PATH,
    GENERIC_METADATA_PATH,
    GENERIC_TOKEN_PATH,
    GENERIC_VERIFICATION_PATH,
    MAAP,
    OPENAIRE,
    OPENAIRE_REFRESH_PATH,
    OPENAIRE_TOKEN_PATH,
    RESOURCE_PATH,
    SENTINEL_HUB,
    SH_TOKEN_PATH,
    USGS,
    State,
)

Endpoint = Callable[[State, Request], Response]


@dataclass(frozen=True)
class Route:
    profile: str | None
    methods: tuple[str, ...]
    endpoint: Endpoint
    token_endpoint: bool


def _invalid_token(description: str) -> OAuthError:
    return OAuthError(
        "invalid_token",
        description,
        status=401,
        headers=(("WWW-Authenticate", 'Bearer error="invalid_token"'),),
    )


def _resource(state: State, req: Request) -> Response:
    scheme, _, token = (req.header("Authorization") or "").strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise _invalid_token("Missing bearer token")
    record = state.access_token(token)
    if record is None:
        raise _invalid_token("Unknown access token")
    if record.expires_at <= state.now():
        raise _invalid_token("The access token expired")
    return json_response(200, {"ok": True, "profile": record.profile, "subject": record.subject}, no_store=False)


ROUTES: dict[str, Route] = {
    CLMS_TOKEN_PATH: Route(CLMS, ("POST",), _clms.token_endpoint, True),
    DT_TOKEN_PATH: Route(DT, ("POST",), _dt.token_endpoint, True),
    OPENAIRE_TOKEN_PATH: Route(OPENAIRE, ("POST",), _openaire.token_endpoint, True),
    OPENAIRE_REFRESH_PATH: Route(OPENAIRE, ("GET",), _openaire.refresh_endpoint, True),
    CE_TOKEN_PATH: Route(CLIMATE_ENGINE, ("POST",), _climate_engine.token_endpoint, True),
    CDSE_TOKEN_PATH: Route(CDSE, ("POST",), _cdse.token_endpoint, True),
    CDSE_DISCOVERY_PATH: Route(CDSE, ("GET",), _cdse.discovery, False),
    CDSE_CERTS_PATH: Route(CDSE, ("GET",), _keycloak.certs, False),
    CDSE_DEVICE_PATH: Route(CDSE, ("POST",), _cdse.device_authorization, False),
    CDSE_VERIFICATION_PATH: Route(CDSE, ("GET",), _cdse.verification_page, False),
    DEVICE_APPROVE_PATH: Route(CDSE, ("POST",), _cdse.approve, False),
    DEVICE_DENY_PATH: Route(CDSE, ("POST",), _cdse.deny, False),
    GENERIC_TOKEN_PATH: Route(GENERIC, ("POST",), _generic.token_endpoint, True),
    SH_TOKEN_PATH: Route(SENTINEL_HUB, ("POST",), _sentinel_hub.token_endpoint, True),
    GENERIC_METADATA_PATH: Route(GENERIC, ("GET",), _generic.metadata, False),
    GENERIC_DEVICE_PATH: Route(GENERIC, ("POST",), _generic.device_authorization, False),
    GENERIC_VERIFICATION_PATH: Route(GENERIC, ("GET",), _cdse.verification_page, False),
    RESOURCE_PATH: Route(None, ("GET", "POST"), _resource, False),
    _usgs.USGS_LOGIN_TOKEN_PATH: Route(USGS, ("POST",), _usgs.login_token, True),
    _usgs.USGS_LOGIN_PATH: Route(USGS, ("POST",), _usgs.retired_login, False),
    _usgs.USGS_LOGOUT_PATH: Route(USGS, ("POST",), _usgs.logout, False),
    _usgs.USGS_API_PATH: Route(USGS, ("GET", "POST"), _usgs.api_call, False),
    _earthdata.FIND_OR_CREATE_PATH: Route(EARTHDATA, ("POST",), _earthdata.find_or_create, True),
    _earthdata.CREATE_PATH: Route(EARTHDATA, ("POST",), _earthdata.create, True),
    _earthdata.LIST_PATH: Route(EARTHDATA, ("GET",), _earthdata.list_tokens, False),
    _earthdata.REVOKE_PATH: Route(EARTHDATA, ("POST",), _earthdata.revoke, False),
    _eumetsat.EUMETSAT_TOKEN_PATH: Route(EUMETSAT, ("POST",), _eumetsat.token_endpoint, True),
    _maap.MAAP_TOKEN_PATH: Route(MAAP, ("POST",), _maap.token_endpoint, True),
    _egi.EGI_TOKEN_PATH: Route(EGI, ("POST",), _egi.token_endpoint, True),
    _egi.EGI_DISCOVERY_PATH: Route(EGI, ("GET",), _egi.discovery, False),
    _egi.EGI_CERTS_PATH: Route(EGI, ("GET",), _keycloak.certs, False),
    _egi.EGI_DEVICE_PATH: Route(EGI, ("POST",), _egi.device_authorization, False),
    _egi.EGI_VERIFICATION_PATH: Route(EGI, ("GET",), _cdse.verification_page, False),
}
