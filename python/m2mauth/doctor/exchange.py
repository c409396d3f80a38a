"""doctor's lines for RFC 8693 token exchange and for the profiles whose flows need more than
credentials (EGI Check-in's refresh: a scope containing openid).

The subject token is looked at without trusting it: its ``exp``, when it is a JWT, says how long
the exchange can be repeated; an opaque token can only be judged by the server (the exchange line).
"""

from __future__ import annotations

from collections.abc import Callable

from ..credentials import Credentials
from ..profiles import Flow, Profile
from ..token_exchange import SUBJECT_TOKEN_EXPIRED
from ..tokens import jwt_exp
from .report import FAIL, OK, SKIP, WARN, Check

__all__ = ["flow_checks"]

#: Below this many seconds left, a subject token is flagged: a long job will outlive it.
SHORT_SUBJECT = 300


def flow_checks(prof: Profile, flow: Flow | None, creds: Credentials, now: Callable[[], float]) -> list[Check]:
    """The lines particular to the chosen flow (none for most flows)."""
    if flow is None:
        return []
    if flow.grant == "token_exchange":
        return [_subject_check(creds, now())]
    if flow.grant == "refresh_token" and prof.name == "egi-checkin":
        return [_openid_scope_check(creds, flow)]
    return []


def _subject_check(creds: Credentials, now: float) -> Check:
    token = creds.subject_token or ""
    exp = jwt_exp(token)
    kind = creds.subject_token_type or "urn:ietf:params:oauth:token-type:access_token"
    if exp is None:
        return Check(
            "subject token",
            SKIP,
            f"an opaque {kind.rsplit(':', 1)[-1]} (not a JWT): only the server can say whether it is still valid",
        )
    left = int(exp - now)
    if left <= 0:
        return Check(
            "subject token",
            FAIL,
            f"the subject token (a JWT) expired {-left} s ago: it cannot be exchanged any more",
            "Get a new subject token from the service that issued it and pass it as subject_token=.",
            (SUBJECT_TOKEN_EXPIRED,),
        )
    short = left < SHORT_SUBJECT
    return Check(
        "subject token",
        WARN if short else OK,
        f"a JWT valid for {left} s more: the exchange can be repeated until then",
        "A job longer than that needs a new subject token before it ends." if short else None,
        details={"seconds_left": left},
    )


def _openid_scope_check(creds: Credentials, flow: Flow) -> Check:
    scope = creds.scope if creds.scope is not None else (flow.scope or "")
    if "openid" in scope.split():
        return Check("scope", OK, f"scope {scope!r} contains openid, as Check-in's refresh requires")
    return Check(
        "scope",
        FAIL,
        f"scope {scope!r} lacks openid: Check-in refuses a refresh without it",
        "Ask for a scope containing openid (e.g. 'openid email profile'), or leave the scope out for the "
        "profile's default 'openid'.",
        ("scope_rejected",),
    )
