"""Stage f: each error_code an invalid test names is confirmed by an independent rule."""

from __future__ import annotations

from collections.abc import Callable

from vectorcheck.document import JsonObject, alg_of, as_object, claims_of, json_object, setting
from vectorcheck.encoding import b64url_decode
from vectorcheck.errors import VectorError
from vectorcheck.group_context import GroupContext
from vectorcheck.signatures import alg_fits_kty

KNOWN_ERROR_CODES = (
    "key_algorithm_mismatch",
    "lifetime_exceeded",
    "audience_mismatch",
    "missing_claim",
    "missing_credential",
    "password_login_retired",
    "invalid_credential",
    "subject_token_expired",
)


def check_error_code(test: JsonObject, ctx: GroupContext) -> None:
    """Stage f: an invalid test's error_code must be confirmed by its independent rule."""
    if test.get("result") != "invalid":
        return
    code = test.get("error_code")
    rule = _ERROR_RULES.get(code) if isinstance(code, str) else None
    if rule is None:
        raise VectorError(
            "error_code",
            f"unknown error_code {code!r} (known: {', '.join(KNOWN_ERROR_CODES)})",
        )
    rule(test, ctx)


def _rule_key_algorithm_mismatch(test: JsonObject, ctx: GroupContext) -> None:
    alg, kty = alg_of(test), as_object(ctx.group.get("key")).get("kty")
    if alg is None or not isinstance(kty, str):
        raise VectorError("error_code", "key_algorithm_mismatch needs input.alg and a group key kty")
    if alg_fits_kty(alg, kty):
        raise VectorError("error_code", f"key_algorithm_mismatch, but {alg} fits a {kty} key")


def _rule_lifetime_exceeded(test: JsonObject, ctx: GroupContext) -> None:
    claims, limit = claims_of(test), setting(test, ctx.group, "max_lifetime")
    if claims is None or not isinstance(limit, int):
        raise VectorError("error_code", "lifetime_exceeded needs claims and input.max_lifetime")
    exp, iat = claims.get("exp"), claims.get("iat")
    if not isinstance(exp, int) or not isinstance(iat, int):
        raise VectorError("error_code", "lifetime_exceeded needs integer exp and iat claims")
    if exp - iat <= limit:
        raise VectorError("error_code", f"lifetime_exceeded, but exp - iat = {exp - iat} <= {limit}")


def _rule_audience_mismatch(test: JsonObject, ctx: GroupContext) -> None:
    claims, token_url = claims_of(test), setting(test, ctx.group, "token_url")
    if claims is None or "aud" not in claims or not isinstance(token_url, str):
        raise VectorError("error_code", "audience_mismatch needs an aud claim and input.token_url")
    aud = claims["aud"]
    if aud == token_url or (isinstance(aud, list) and token_url in aud):
        raise VectorError("error_code", f"audience_mismatch, but aud {aud!r} names {token_url!r}")


def _rule_missing_claim(test: JsonObject, ctx: GroupContext) -> None:
    claims, required = claims_of(test), setting(test, ctx.group, "required_claims")
    if claims is None or not isinstance(required, list):
        raise VectorError("error_code", "missing_claim needs claims and input.required_claims")
    if all(name in claims for name in required):
        raise VectorError("error_code", f"missing_claim, but all of {required} are present")


def _rule_password_login_retired(test: JsonObject, ctx: GroupContext) -> None:
    # usgs-m2m: the password login is gone; a password in the input is what gets it refused.
    test_input = as_object(test.get("input"))
    if test_input.get("profile") != "usgs-m2m" or not test_input.get("password"):
        raise VectorError("error_code", "password_login_retired needs a usgs-m2m input with a password")


def _rule_invalid_credential(test: JsonObject, ctx: GroupContext) -> None:
    # RFC 7617 §2: the user-id of HTTP Basic cannot contain ':'.
    if ":" not in str(as_object(test.get("input")).get("username", "")):
        raise VectorError("error_code", "invalid_credential (Basic login) needs a username with ':'")


def _rule_missing_credential(test: JsonObject, ctx: GroupContext) -> None:
    test_input = as_object(test.get("input"))
    missing = test_input.get("missing")
    names = [missing] if isinstance(missing, str) else missing
    if not isinstance(names, list) or not names or not all(isinstance(n, str) and n for n in names):
        raise VectorError("error_code", "missing_credential needs input.missing to name a credential")
    given = [n for n in names if test_input.get(n) not in (None, "")]
    if given:
        raise VectorError("error_code", f"missing_credential, but input gives {given}")


def _rule_subject_token_expired(test: JsonObject, ctx: GroupContext) -> None:
    """RFC 8693 token exchange: the subject token is a JWT whose exp is at or before input.now."""
    test_input = as_object(test.get("input"))
    token, now = test_input.get("subject_token"), test_input.get("now")
    parts = token.split(".") if isinstance(token, str) else []
    claims = json_object(b64url_decode(parts[1]).decode("utf-8")) if len(parts) == 3 else None
    exp = claims.get("exp") if claims is not None else None
    if not isinstance(exp, int) or not isinstance(now, int):
        raise VectorError("error_code", "subject_token_expired needs a JWT input.subject_token with exp and input.now")
    if exp > now:
        raise VectorError("error_code", f"subject_token_expired, but exp {exp} is after now {now}")


_ERROR_RULES: dict[str, Callable[[JsonObject, GroupContext], None]] = {
    "key_algorithm_mismatch": _rule_key_algorithm_mismatch,
    "lifetime_exceeded": _rule_lifetime_exceeded,
    "audience_mismatch": _rule_audience_mismatch,
    "missing_claim": _rule_missing_claim,
    "missing_credential": _rule_missing_credential,
    "password_login_retired": _rule_password_login_retired,
    "invalid_credential": _rule_invalid_credential,
    "subject_token_expired": _rule_subject_token_expired,
}
