"""doctor's lines for the token services that are not OAuth (issue 12).

``application token`` (usgs-m2m): USGS retired the password login in February 2025; a password
given is refused with the way to an application token, a missing application token is explained.
``token cap`` (earthdata): Earthdata Login lets a user hold two valid tokens; the User Tokens API's
``GET .../tokens`` (HTTP Basic, the same credentials) says how many are taken. The ``.netrc``
file's own line (permissions, malformed entries) comes from provider_files.py like every
provider tool's file.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from ..credentials import Credentials
from ..errors import ConfigError
from ..profiles import Profile
from ..request_shapes import basic_authorization
from ..transport import check_url
from .report import FAIL, OK, SKIP, WARN, Check

if TYPE_CHECKING:
    import requests

__all__ = ["token_service_checks"]

#: Earthdata Login's documented cap: "a maximum of two valid user tokens at any given time".
TOKEN_CAP = 2


def token_service_checks(
    prof: Profile,
    creds: Credentials,
    given: Mapping[str, Any],
    http: requests.Session,
    timeout: float,
    contact: bool,
) -> list[Check]:
    """The application-token line (profiles that retired a credential) and the token-cap line
    (profiles whose flow logs in with HTTP Basic to a User Tokens API)."""
    checks = _application_token(prof, creds, given)
    login = next((f for f in prof.flows if f.request is not None and f.request.kind == "basic"), None)
    if login is not None and prof.name == "earthdata":
        checks.append(_token_cap(prof, creds, http, timeout, contact, login.token_url or prof.token_url))
    return checks


def _application_token(prof: Profile, creds: Credentials, given: Mapping[str, Any]) -> list[Check]:
    if not any("application_token" in f.requires for f in prof.flows):
        return []
    refused = next((r for r in prof.refused_credentials if r.name == "password"), None)
    hint = refused.hint if refused else "Pass application_token= with username=."
    if refused is not None and given.get("password"):
        return [Check("application_token", FAIL, f"{prof.name} no longer takes password=", hint, (refused.code,))]
    if not creds.application_token:
        return [Check("application_token", WARN, "no application token given", hint, ("missing_credential",))]
    return [Check("application_token", OK, "an application token is given (not shown)")]


def _token_cap(
    prof: Profile, creds: Credentials, http: requests.Session, timeout: float, contact: bool, default_url: str | None
) -> Check:
    if not creds.username or not creds.password:
        return Check("token_cap", SKIP, "not checked: no username and password (a ready token is used as is)")
    if not contact:
        return Check("token_cap", SKIP, "not checked: doctor was asked not to contact the server")
    url = urljoin(creds.token_url or default_url or "", "tokens")
    try:
        check_url(url)
        authorization = basic_authorization(creds.username, creds.password)
    except ConfigError as err:
        return Check("token_cap", FAIL, err.message, err.hint, (err.code,))
    import requests

    try:
        answer = http.get(
            url,
            headers={"Accept": "application/json", "Authorization": authorization},
            timeout=timeout,
            allow_redirects=False,
        )
        tokens = answer.json() if answer.status_code == 200 else None
    except (requests.exceptions.RequestException, ValueError) as exc:
        return Check("token_cap", SKIP, f"not checked: {url} did not answer usably ({type(exc).__name__})")
    if not isinstance(tokens, list):
        return Check("token_cap", SKIP, f"not checked: {url} answered HTTP {answer.status_code}")
    found = prof.hint_for("max_token_limit", None)
    fix = found.hint if found else None
    if len(tokens) >= TOKEN_CAP:
        message = f"{len(tokens)} valid tokens: the cap of {TOKEN_CAP} is reached (find_or_create_token reuses one)"
        return Check("token_cap", WARN, message, fix, ("earthdata_token_limit",), details={"valid": len(tokens)})
    return Check("token_cap", OK, f"{len(tokens)} of {TOKEN_CAP} valid tokens taken", details={"valid": len(tokens)})
