"""Regenerate spec/vectors/*.json from the core; with --check, fail when the committed files differ.

Each case below names a profile, a flow and credentials (keys by file under spec/keys/), a fixed
clock and jti. The core builds the request; the file records every stage (header JSON, claims
JSON, signing input, compact JWS, the token request) so another language can find where it
diverges. spec/vectors/published/ holds RFC vectors and is not generated here.
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "spec"
sys.path.insert(0, str(ROOT / "python"))

from vector_cases import files  # noqa: E402
from vector_cases.common import CE_SECRET, KEY_FILES, Case, VectorFile  # noqa: E402

import m2mauth  # noqa: E402
from m2mauth.assertions import make_assertion  # noqa: E402
from m2mauth.errors import ConfigError  # noqa: E402
from m2mauth.keys import Key, load_key, secret_key  # noqa: E402
from m2mauth.vectors import plan_for_vector, resolve_reference  # noqa: E402

NOTES: dict[str, dict[str, str]] = {
    "JwtBearerGrant": {"description": "An RFC 7523 §2.1 JWT authorization grant.", "reference": "RFC 7523 §2.1"},
    "ClientAssertion": {
        "description": "Client authentication with a JWT (client_secret_jwt or private_key_jwt).",
        "reference": "RFC 7523 §2.2, OIDC Core §9",
    },
    "ClientSecretBasic": {"description": "HTTP Basic client authentication.", "reference": "RFC 6749 §2.3.1"},
    "BasicRfcEncoding": {
        "description": "Client id and secret form-encoded before base64, as RFC 6749 §2.3.1 says.",
        "reference": "RFC 6749 §2.3.1, Appendix B",
    },
    "BasicRawEncoding": {
        "description": "Client id and secret as plain UTF-8 before base64 (Authlib, requests, "
        "httpx); a profile may choose it.",
        "reference": "RFC 7617",
    },
    "SpecialCharacters": {
        "description": "The secret holds ':', '%', '+', a space and non-ASCII characters.",
        "reference": "RFC 6749 Appendix B",
    },
    "ClientSecretPost": {"description": "Client credentials in the form body.", "reference": "RFC 6749 §2.3.1"},
    "KeyId": {"description": "The JWS header names the key with kid.", "reference": "RFC 7515 §4.1.4"},
    "VerifyOnly": {
        "description": "Probabilistic signature (PS*, ES*): verify it, do not compare bytes.",
        "reference": "RFC 7518 §3.4, §3.5",
    },
    "GetRefreshEndpoint": {
        "description": "OpenAIRE's personal-token refresh: GET with the refresh token in the query string.",
        "reference": "OpenAIRE Graph API authentication guide",
    },
    "RefreshTokenGrant": {"description": "Refreshing an access token.", "reference": "RFC 6749 §6"},
    "PasswordGrant": {"description": "Resource owner password credentials.", "reference": "RFC 6749 §4.3"},
    "PublicClient": {
        "description": "A public client: client_id in the body, no secret (CDSE's cdse-public, the profile's "
        "default for the flow).",
        "reference": "RFC 6749 §2.1, §3.2.1",
    },
    "OneTimeCode": {
        "description": "The account's current two-factor code as the form field totp (RFC 6238 TOTP), sent "
        "with the password grant.",
        "reference": "CDSE documentation APIs/Token (cURL with 2FA); RFC 6238",
    },
    "ClientCredentialsGrant": {"description": "Client credentials grant.", "reference": "RFC 6749 §4.4"},
    "DeviceCodeGrant": {"description": "Polling the token endpoint in the device flow.", "reference": "RFC 8628 §3.4"},
    "TokenExchangeGrant": {
        "description": "OAuth 2.0 token exchange: a subject token for a token meant for another audience.",
        "reference": "RFC 8693 §2.1",
    },
    "SubjectTokenExpired": {
        "description": "The subject token is a JWT whose exp is at or before now: it cannot be exchanged.",
        "reference": "RFC 8693 §2.1, RFC 7519 §4.1.4",
    },
    "KeyAlgorithmMismatch": {
        "description": "The requested algorithm does not fit the key (an RSA key asked for "
        "HS256: the httr2 jwt_encode_hmac pitfall).",
        "reference": "RFC 7518 §3.1",
    },
    "LifetimeCap": {"description": "exp - iat is over the provider's cap.", "reference": "provider documentation"},
    "MissingCredential": {"description": "A credential the flow needs is missing.", "reference": "RFC 6749 §4"},
    "AudienceMismatch": {"description": "aud is not the token endpoint URL.", "reference": "RFC 7523 §3 item 3"},
    "MissingClaim": {"description": "A claim the provider requires is missing.", "reference": "RFC 7523 §3"},
    "JsonLogin": {
        "description": "A provider's own login: the named credential fields as one JSON object (no OAuth grant).",
        "reference": "spec/README.md, Request shapes; USGS M2M API login-token",
    },
    "BasicLogin": {
        "description": "A provider's own login: username and password as HTTP Basic (UTF-8, not form-encoded), "
        "no body.",
        "reference": "RFC 7617; NASA Earthdata Login User Tokens API",
    },
    "RetiredCredential": {
        "description": "A credential the provider no longer takes is refused with the replacement in the hint.",
        "reference": "spec/README.md, Request shapes",
    },
}

def resolve(value: Any) -> Any:
    """Turn {"file": ...} references into what the core takes (paths; secrets as text)."""
    return resolve_reference(value, lambda name: SPEC / name)


def group_key(name: str | None) -> dict[str, Any] | None:
    if name is None:
        return None
    if name == "hmac":
        return {"kty": "oct", "file": KEY_FILES["hmac"]}
    if name == "ce_secret":
        k = m2mauth.jws.b64url_encode(CE_SECRET.encode())  # type: ignore[attr-defined]
        return {"kty": "oct", "jwk": {"kty": "oct", "k": k}}
    if name == "ec":
        key = load_key(SPEC / KEY_FILES["ec"])
        return {"kty": "EC", "file": KEY_FILES["ec"], "publicJwk": key.public_jwk()}
    path = KEY_FILES["rsa"]
    key = load_key(SPEC / path)
    return {"kty": "RSA", "file": path, "publicJwk": key.public_jwk()}


def run_case(case: Case, tc_id: int) -> dict[str, Any]:
    inp = case.input
    test: dict[str, Any] = {"tcId": tc_id, "comment": case.comment, "flags": case.flags, "input": inp}
    try:
        plan = plan_for_vector(inp, resolve)
    except ConfigError as err:
        if case.expect_error is None:
            raise
        if err.code != case.expect_error:
            raise SystemExit(f"case {case.comment!r}: expected {case.expect_error}, got {err.code}") from None
        intermediate: dict[str, Any] = {}
        if err.code == "lifetime_exceeded":
            # The times the refused grant would have carried, so a checker can see exp - iat itself.
            intermediate["claims"] = m2mauth.jws.json_segment(  # type: ignore[attr-defined]
                {"iat": inp["now"], "exp": inp["now"] + inp["lifetime"]}
            )
        test.update(intermediate=intermediate, expected={"reproducible": True}, result="invalid", error_code=err.code)
        return test
    if case.expect_error is not None:
        raise SystemExit(f"case {case.comment!r}: expected {case.expect_error}, but the core built a request")
    stages: Any = plan.assertion
    if stages is None:
        client_assertion = plan.request.field("client_assertion")
        if client_assertion:
            stages = _stages_of(client_assertion)
    intermediate: dict[str, Any] = {}
    expected: dict[str, Any] = {"reproducible": True}
    if stages is not None:
        intermediate = {
            "header": stages.header_json,
            "claims": stages.claims_json,
            "signingInput": stages.signing_input,
        }
        alg = json.loads(stages.header_json)["alg"]
        expected["reproducible"] = alg[:2] in ("RS", "HS")
        expected["jws"] = stages.jwt
    expected["tokenRequest"] = plan.request.to_dict()
    test.update(intermediate=intermediate, expected=expected, result="valid", error_code=None)
    return test


@dataclass
class _Stages:
    header_json: str
    claims_json: str
    signing_input: str
    jwt: str


def _stages_of(jwt: str) -> _Stages:
    head, body, _ = jwt.split(".")
    return _Stages(
        m2mauth.jws.b64url_decode(head).decode(),  # type: ignore[attr-defined]
        m2mauth.jws.b64url_decode(body).decode(),
        f"{head}.{body}",
        jwt,
    )  # type: ignore[attr-defined]


def run_jws_case(case: Case, tc_id: int, key: Key) -> dict[str, Any]:
    """A grant judged by inspect(): built with make_assertion, then checked against the profile."""
    inp = case.input
    assertion = make_assertion(
        key,
        issuer=inp["iss"],
        subject=inp.get("sub"),
        audience=inp["aud"],
        alg=inp["alg"],
        lifetime=inp["lifetime"],
        now=inp["now"],
        extra_claims=case.claims_override or None,
    )
    claims = dict(assertion.claims)
    for name in inp.get("drop_claims", []):
        claims.pop(name)
    if inp.get("drop_claims"):
        assertion = m2mauth.assertions.Assertion(  # type: ignore[attr-defined]
            assertion.header,
            claims,
            assertion.header_json,
            m2mauth.jws.json_segment(claims),  # type: ignore[attr-defined]
            "",
            "",
        )
        signing_input = m2mauth.jws.signing_input(assertion.header_json, assertion.claims_json)  # type: ignore[attr-defined]
        jwt = m2mauth.jws.sign(signing_input, key, inp["alg"])  # type: ignore[attr-defined]
        assertion = m2mauth.assertions.Assertion(
            assertion.header,
            claims,
            assertion.header_json,  # type: ignore[attr-defined]
            assertion.claims_json,
            signing_input,
            jwt,
        )
    diagnosis = m2mauth.inspect(assertion.jwt, inp["profile"], now=inp["now"], token_url=inp.get("token_url"))
    codes = [f.code for f in diagnosis.findings if f.severity == "error"]
    if case.inspect_error not in codes:
        raise SystemExit(f"case {case.comment!r}: inspect gave {codes}, expected {case.inspect_error}")
    return {
        "tcId": tc_id,
        "comment": case.comment,
        "flags": case.flags,
        "input": inp,
        "intermediate": {
            "header": assertion.header_json,
            "claims": assertion.claims_json,
            "signingInput": assertion.signing_input,
        },
        "expected": {"reproducible": True, "jws": assertion.jwt},
        "result": "invalid",
        "error_code": case.inspect_error,
    }


def build(vf: VectorFile) -> dict[str, Any]:
    key = None
    if vf.key == "hmac":
        key = secret_key((SPEC / KEY_FILES["hmac"]).read_text(encoding="utf-8"))
    elif vf.key in KEY_FILES:
        key = load_key(SPEC / KEY_FILES[vf.key])
    tests = []
    for index, case in enumerate(vf.cases, start=1):
        if vf.group_type == "JwsTest":
            assert key is not None
            tests.append(run_jws_case(case, index, key))
        else:
            tests.append(run_case(case, index))
    used = sorted({flag for case in vf.cases for flag in case.flags})
    group: dict[str, Any] = {"type": vf.group_type, "source": "m2mauth core (python/tools/gen_vectors.py)"}
    if vf.key:
        group["key"] = group_key(vf.key)
    group["tests"] = tests
    return {
        "schema": "vectors.schema.json",
        "numberOfTests": len(tests),
        "header": [
            *vf.header,
            "Generated by python/tools/gen_vectors.py from the m2mauth core; do not edit by hand.",
            "Keys are TEST keys from spec/keys/; byte rules in spec/README.md.",
        ],
        "notes": {flag: NOTES[flag] for flag in used},
        "testGroups": [group],
    }


def keep_probabilistic(data: dict[str, Any], old_text: str) -> dict[str, Any]:
    """PS*/ES* signatures differ on every run: keep the committed one when it signs the same input
    (spec/verify checks that it verifies), so regeneration shows no drift for them."""
    if not old_text:
        return data
    old = json.loads(old_text)
    old_tests = {t["tcId"]: t for g in old.get("testGroups", []) for t in g.get("tests", [])}
    text = json.dumps(data, ensure_ascii=False)
    for group in data["testGroups"]:
        for test in group["tests"]:
            jws = test.get("expected", {}).get("jws")
            previous = old_tests.get(test["tcId"], {}).get("expected", {}).get("jws")
            if (
                test["expected"].get("reproducible") is False
                and jws
                and previous
                and previous != jws
                and previous.rsplit(".", 1)[0] == jws.rsplit(".", 1)[0]
            ):
                text = text.replace(jws, previous)
    result: dict[str, Any] = json.loads(text)
    return result


def render(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail when a committed vector file differs")
    args = parser.parse_args()
    out = SPEC / "vectors"
    out.mkdir(exist_ok=True)
    drift = 0
    written = set()
    for vf in files():
        if not vf.cases:
            continue
        path = out / f"{vf.name}.json"
        written.add(path.name)
        old = path.read_text(encoding="utf-8") if path.exists() else ""
        text = render(keep_probabilistic(build(vf), old))
        if old == text:
            continue
        if args.check:
            drift += 1
            print(f"DRIFT {path.relative_to(ROOT)}")
            sys.stdout.writelines(
                list(difflib.unified_diff(old.splitlines(True), text.splitlines(True), "committed", "generated", n=1))[
                    :40
                ]
            )
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(ROOT)}")
    stale = sorted(p.name for p in out.glob("*.json") if p.name not in written)
    for name in stale:
        drift += 1 if args.check else 0
        print(f"{'STALE' if args.check else 'note: not generated'} spec/vectors/{name}")
    if args.check:
        print(f"vectors: {'no drift' if not drift else f'{drift} file(s) drifted'}")
    return 1 if drift else 0


if __name__ == "__main__":
    raise SystemExit(main())
