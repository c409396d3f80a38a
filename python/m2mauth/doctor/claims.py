"""Checks of a JWT: the grant or client assertion m2mauth plans, or the one the user made elsewhere."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from .. import grants
from ..client_auth import CLIENT_ASSERTION_TYPE
from ..credentials import Credentials
from ..diagnose import Diagnosis, inspect
from ..flows import Plan
from ..keys import ServiceKey
from ..profiles import Flow, Profile
from ..token_request import TokenRequest
from .report import FAIL, OK, SKIP, WARN, Check

if TYPE_CHECKING:
    pass


def _finding_note(code: str, severity: str, message: str, hint: str | None) -> str:
    mark = {"error": "✗", "warning": "!"}.get(severity, "·")
    return f"{mark} {code}: {message}" + (f" — fix: {hint}" if hint and severity != "error" else "")


def findings_check(name: str, diagnosis: Diagnosis, what: str) -> Check:
    """A check from an :func:`m2mauth.inspect` diagnosis of a JWT (the planned grant or the user's)."""
    claims = diagnosis.claims
    summary = ", ".join(f"{c}={claims[c]}" for c in ("iss", "sub", "aud") if c in claims)
    iat, exp = claims.get("iat"), claims.get("exp")
    if isinstance(iat, int) and isinstance(exp, int):
        summary += f"{', ' if summary else ''}exp - iat = {exp - iat} s"
    alg = diagnosis.header.get("alg")
    summary = f"{what} (alg {alg}{', kid ' + str(diagnosis.header['kid']) if 'kid' in diagnosis.header else ''})" + (
        f": {summary}" if summary else ""
    )
    details = {"header": diagnosis.header, "claims": claims, **_findings_details(diagnosis)}
    errors = [f for f in diagnosis.findings if f.severity == "error"]
    warnings = [f for f in diagnosis.findings if f.severity == "warning"]
    codes = tuple(f.code for f in diagnosis.findings)
    if not errors and not warnings:
        return Check(name, OK, summary, details=details)
    notes: list[str] = [summary]
    fixes: list[str] = []
    for finding in (*errors, *warnings):
        notes.append(_finding_note(finding.code, finding.severity, finding.message, finding.hint))
        if finding.severity == "error" and finding.hint and finding.hint not in fixes:
            fixes.append(finding.hint)
    if errors:
        message = f"{len(errors)} problem(s) in {what}: {', '.join(f.code for f in errors)}"
        return Check(name, FAIL, message, "\n".join(fixes) or None, codes, tuple(notes), details)
    return Check(name, WARN, f"{what}: {', '.join(f.code for f in warnings)}", None, codes, tuple(notes), details)


def _findings_details(diagnosis: Diagnosis) -> dict[str, Any]:
    return {"findings": diagnosis.to_dict()["findings"]}


def grant_request(
    jwt: str, url: str, profile: Profile, flow: Flow | None, creds: Credentials
) -> tuple[TokenRequest, str]:
    """How the user's JWT is sent: as a JWT bearer grant, or as a client assertion where the profile uses one."""
    bearer = flow if flow is not None and flow.grant == "jwt_bearer" else None
    bearer = bearer or next((f for f in profile.flows if f.grant == "jwt_bearer"), None)
    if bearer is not None or not any(
        m in ("private_key_jwt", "client_secret_jwt") for f in profile.flows for m in f.auth_methods
    ):
        return grants.jwt_bearer(url, jwt, scope=creds.scope), "the JWT bearer grant (RFC 7523 §2.1)"
    form = [("grant_type", "client_credentials")]
    if creds.scope:
        form.append(("scope", creds.scope))
    client_id = creds.client_id or inspect(jwt).claims.get("iss")
    if isinstance(client_id, str) and client_id:
        form.append(("client_id", client_id))
    form += [("client_assertion_type", CLIENT_ASSERTION_TYPE), ("client_assertion", jwt)]
    headers = (("Accept", "application/json"), ("Content-Type", "application/x-www-form-urlencoded"))
    return TokenRequest("POST", url, headers, tuple(form)), "client credentials with the JWT as client assertion"


def planned_claims(plan: Plan, prof: Profile, service_key: ServiceKey | None, now: Callable[[], float]) -> list[Check]:
    checks: list[Check] = []
    jwt = plan.assertion.jwt if plan.assertion else plan.request.field("client_assertion")
    if not jwt:
        how = f" with {plan.auth_method}" if plan.auth_method else ""
        checks.append(Check("claims", SKIP, f"this flow sends no JWT ({plan.flow.grant}{how})"))
        return checks
    what = "the planned grant" if plan.assertion else "the planned client assertion"
    check = findings_check("claims", inspect(jwt, prof, now=now(), key=plan.key, token_url=plan.token_url), what)
    if service_key is not None and service_key.token_uri != plan.token_url:
        # CLMS checks aud against the service key's own token_uri, whatever URL the grant is posted to.
        note = (
            f"✗ audience_mismatch: aud will be {plan.token_url} (the URL used), but this service key's token_uri is "
            f"{service_key.token_uri}; {prof.name} accepts the grant only when aud is the service key's token_uri"
        )
        fix = (
            f"Use the service key's own token URL: drop --token-url (token_url=) so the grant goes to and names "
            f"{service_key.token_uri}, or download a service key issued by the server at {plan.token_url}."
        )
        codes = (*check.codes, "audience_mismatch")
        notes = check.notes or (check.message,)
        check = Check(
            "claims",
            FAIL,
            f"{sum(1 for n in (*notes, note) if n.startswith('✗'))} problem(s) in {what}: "
            + ", ".join(c for c in codes if c),
            fix if check.status != FAIL else f"{fix}\n{check.fix}",
            codes,
            (*notes, note),
            {**check.details, "service_key_token_uri": service_key.token_uri},
        )
    if "audience_mismatch" in check.codes and plan.credentials.audience:
        drop = (
            f"Drop --audience (audience=): the grant then names the token URL {plan.token_url}, as "
            f"{prof.name} expects; or give the token URL itself as the audience."
        )
        check = replace(check, fix=f"{drop}\n{check.fix}" if check.fix else drop)
    checks.append(check)
    return checks
