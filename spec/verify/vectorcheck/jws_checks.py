"""Stages b, c and d: the signing input, the compact JWS and its signature."""

from __future__ import annotations

from vectorcheck.document import JsonObject, alg_of, as_object, json_object
from vectorcheck.encoding import b64url_decode, b64url_encode
from vectorcheck.errors import VectorError
from vectorcheck.group_context import GroupContext
from vectorcheck.signatures import check_signature


def check_intermediate(test: JsonObject, ctx: GroupContext) -> None:
    """Stage b: base64url(UTF-8 header) "." base64url(UTF-8 claims) == signingInput."""
    intermediate = as_object(test.get("intermediate"))
    header, claims = intermediate.get("header"), intermediate.get("claims")
    signing_input = intermediate.get("signingInput")
    if isinstance(header, str) and isinstance(claims, str) and isinstance(signing_input, str):
        want_header = b64url_encode(header.encode("utf-8"))
        want_claims = b64url_encode(claims.encode("utf-8"))
        got_header, _, got_claims = signing_input.partition(".")
        wrong = [
            part
            for part, ok in (
                ("header", got_header == want_header),
                ("claims", got_claims == want_claims),
            )
            if not ok
        ]
        if wrong:
            raise VectorError(
                "intermediate",
                f"signingInput does not encode the {' and '.join(wrong)} text: expected "
                f"{want_header}.{want_claims}, found {signing_input}",
            )
    header_json = json_object(header)
    given_alg = as_object(test.get("input")).get("alg")
    header_alg = header_json.get("alg", given_alg) if header_json is not None else given_alg
    if isinstance(given_alg, str) and header_alg != given_alg:
        raise VectorError("intermediate", f"header alg {header_alg!r} is not input.alg {given_alg!r}")


def check_jws(test: JsonObject, ctx: GroupContext) -> None:
    """Stages c and d: expected.jws extends the signing input, and its signature is right."""
    expected = as_object(test.get("expected"))
    jws = expected.get("jws")
    if jws is None:
        if ctx.type == "JwsTest" and test.get("result") != "invalid":
            raise VectorError("jws", "a JwsTest that is not invalid needs expected.jws")
        return
    if not isinstance(jws, str):
        raise VectorError("jws", "expected.jws is not a string")
    parts = jws.split(".")
    if len(parts) != 3:
        raise VectorError("jws", f"expected.jws has {len(parts)} parts, not 3")
    for name, part in zip(("header", "payload", "signature"), parts, strict=True):
        try:
            b64url_decode(part)
        except ValueError as exc:
            raise VectorError("jws", f"the {name} part of expected.jws: {exc}") from exc
    signing_input = as_object(test.get("intermediate")).get("signingInput")
    if isinstance(signing_input, str):
        if not jws.startswith(signing_input + "."):
            raise VectorError("jws", "expected.jws does not begin with signingInput + '.'")
    else:
        signing_input = f"{parts[0]}.{parts[1]}"
    alg = alg_of(test)
    if alg is None:
        raise VectorError("signature", "no alg in input.alg or in the header")
    if ctx.key is None:
        if ctx.key_error is not None:
            raise VectorError(
                "signature",
                f"not checked: the group key failed ({ctx.key_error.message})",
            )
        raise VectorError("signature", "expected.jws is given but the group has no key")
    reproducible = expected.get("reproducible") is True
    check_signature(
        alg,
        ctx.key,
        signing_input.encode("ascii"),
        b64url_decode(parts[2]),
        reproducible,
    )
