"""What the emulated device authorization endpoints (RFC 8628) share: the §3.2 answer, and the
§3.5 errors of a poll as Keycloak words them (CDSE and EGI Check-in both run Keycloak)."""

from __future__ import annotations

from collections.abc import Mapping

from ._http import OAuthError, Response, json_response
from ._state import DeviceGrant, State

#: Poll outcome (State.poll_device) -> Keycloak's error and description.
KEYCLOAK_POLL_ERRORS: Mapping[str, tuple[str, str]] = {
    "invalid": ("invalid_grant", "Device code not valid"),
    "expired": ("expired_token", "Device code is expired"),
    "slow_down": ("slow_down", "Slow down: poll less often"),
    "pending": ("authorization_pending", "The authorization request is still pending"),
    "denied": ("access_denied", "The end user denied the authorization request"),
}


def device_answer(state: State, grant: DeviceGrant, verification_uri: str) -> Response:
    """RFC 8628 §3.2: the device and user codes, where to enter the code, for how long, how often."""
    return json_response(
        200,
        {
            "device_code": grant.device_code,
            "user_code": grant.user_code,
            "verification_uri": verification_uri,
            "verification_uri_complete": f"{verification_uri}?user_code={grant.user_code}",
            "expires_in": state.device_code_lifetime,
            "interval": grant.interval,
        },
    )


def poll_error(outcome: str, errors: Mapping[str, tuple[str, str]] = KEYCLOAK_POLL_ERRORS) -> OAuthError:
    """The error answer for a poll that did not end in a token."""
    error, description = errors.get(outcome, errors.get("invalid", ("invalid_grant", "Invalid device code")))
    return OAuthError(error, description)
