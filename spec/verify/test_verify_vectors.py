"""Self-test of spec/verify/verify_vectors.py.

It runs the checker over spec/vectors, and proves that the checker can fail: it
copies vectors into a temporary folder, breaks one byte at a time and expects the
failure to be reported at the right stage. The extra vectors built here (token
requests, file keys, error codes) are signed in the test with ``cryptography``;
they never leave the temporary folder.
"""

from __future__ import annotations

import base64
import copy
import hmac
import importlib.util
import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

import verify_vectors as vv

SPEC = Path(__file__).resolve().parent.parent
PUBLISHED = SPEC / "vectors" / "published"
SCRIPT = Path(__file__).resolve().parent / "verify_vectors.py"
PUBLISHED_FILES = (
    "rfc7515-a1-hs256.json",
    "rfc7515-a2-rs256.json",
    "rfc7520-4-1-rs256.json",
    "rfc7520-4-4-hs256.json",
)
TOKEN_URL = "https://auth.example.org/oauth2/token"
STAGE = re.compile(r"\[([A-Za-z_]+)\]")


# --------------------------------------------------------------------------- helpers


def load(path: Path) -> dict[str, Any]:
    document = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def write(path: Path, document: dict[str, Any]) -> Path:
    path.write_text(vv.canonical_text(document), encoding="utf-8")
    return path


def stages(failures: list[str]) -> set[str]:
    found = set()
    for message in failures:
        match = STAGE.search(message)
        assert match, message
        found.add(match.group(1))
    return found


def first_test(document: dict[str, Any]) -> dict[str, Any]:
    test = document["testGroups"][0]["tests"][0]
    assert isinstance(test, dict)
    return test


def flip(text: str, index: int) -> str:
    """Replace one base64url character by another one."""
    replacement = "B" if text[index] == "A" else "A"
    return text[:index] + replacement + text[index + 1 :]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def envelope(groups: list[dict[str, Any]], flags: tuple[str, ...] = ()) -> dict[str, Any]:
    count = sum(len(g["tests"]) for g in groups)
    notes = {flag: {"description": f"test flag {flag}"} for flag in flags}
    return {
        "schema": "vectors.schema.json",
        "numberOfTests": count,
        "header": ["Built by spec/verify/test_verify_vectors.py in a temporary folder."],
        "notes": notes,
        "testGroups": groups,
    }


def rsa_key() -> rsa.RSAPrivateKey:
    data = (SPEC / "keys" / "test-rsa-2048.pkcs8.pem").read_bytes()
    key = serialization.load_pem_private_key(data, password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


def ec_key() -> ec.EllipticCurvePrivateKey:
    data = (SPEC / "keys" / "test-ec-p256.pkcs8.pem").read_bytes()
    key = serialization.load_pem_private_key(data, password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key


def jws_test(alg: str, sign: Callable[[bytes], bytes], tc_id: int = 1, **extra: Any) -> dict[str, Any]:
    """A JwsTest test over fixed claims; sign(signing_input) returns signature bytes."""
    header = json.dumps({"alg": alg, "typ": "JWT"}, separators=(",", ":"))
    claims = json.dumps(
        {
            "iss": "client-1",
            "sub": "client-1",
            "aud": TOKEN_URL,
            "iat": 1700000000,
            "exp": 1700000300,
            "jti": "jti-\u00e9-1",
        },
        separators=(",", ":"),
        ensure_ascii=False,
    )
    signing_input = b64url(header.encode()) + "." + b64url(claims.encode())
    jws = signing_input + "." + b64url(sign(signing_input.encode("ascii")))
    test: dict[str, Any] = {
        "tcId": tc_id,
        "comment": f"{alg} over fixed claims",
        "flags": [],
        "input": {"alg": alg, "now": 1700000000, "token_url": TOKEN_URL},
        "intermediate": {"header": header, "claims": claims, "signingInput": signing_input},
        "expected": {"reproducible": alg[:2] in ("HS", "RS"), "jws": jws},
        "result": "valid",
        "error_code": None,
    }
    test.update(extra)
    return test


def token_request_file(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    """A TokenRequestTest built around the published RFC 7515 A.2 JWS."""
    published = load(PUBLISHED / "rfc7515-a2-rs256.json")
    group = copy.deepcopy(published["testGroups"][0])
    group["type"] = "TokenRequestTest"
    test = group["tests"][0]
    test["flags"] = []
    form = [["grant_type", vv.JWT_BEARER_GRANT], ["assertion", test["expected"]["jws"]]]
    test["expected"]["tokenRequest"] = {
        "method": "POST",
        "url": TOKEN_URL,
        "headers": [
            ["Accept", "application/json"],
            ["Content-Type", "application/x-www-form-urlencoded"],
        ],
        "form": form,
        # encoded with the standard library, independently of the checker's encoder
        "body": "&".join(f"{quote_plus(n, safe='')}={quote_plus(v, safe='')}" for n, v in form),
    }
    document = envelope([group])
    return write(tmp_path / "token-request.json", document), document


# --------------------------------------------------------------------------- the real vectors


def test_published_vectors_are_present() -> None:
    for name in PUBLISHED_FILES:
        assert (PUBLISHED / name).is_file(), name


def test_every_vector_file_passes() -> None:
    paths = vv.default_paths()
    assert len(paths) >= len(PUBLISHED_FILES)
    for path in paths:
        assert vv.verify_file(path) == [], path


def test_cli_passes_and_prints_summary() -> None:
    run = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, check=False)
    lines = run.stdout.strip().splitlines()
    assert run.returncode == 0, run.stdout + run.stderr
    assert re.fullmatch(r"verify: \d+ passed, 0 failed", lines[-1]), lines[-1]
    assert len(lines) == len(vv.default_paths()) + 1


def test_cli_fails_on_a_broken_file(tmp_path: Path) -> None:
    document = load(PUBLISHED / "rfc7515-a1-hs256.json")
    test = first_test(document)
    test["expected"]["jws"] = flip(test["expected"]["jws"], -10)
    path = write(tmp_path / "broken.json", document)
    run = subprocess.run([sys.executable, str(SCRIPT), str(path)], capture_output=True, text=True, check=False)
    assert run.returncode != 0
    assert run.stdout.strip().splitlines()[-1] == "verify: 0 passed, 1 failed"
    assert "[signature]" in run.stderr


def test_published_header_keeps_its_crlf() -> None:
    test = first_test(load(PUBLISHED / "rfc7515-a1-hs256.json"))
    assert test["intermediate"]["header"] == '{"typ":"JWT",\r\n "alg":"HS256"}'


# --------------------------------------------------------------------------- it can fail


@pytest.mark.parametrize("name", PUBLISHED_FILES)
def test_flipped_signature_character_fails_at_signature(tmp_path: Path, name: str) -> None:
    document = load(PUBLISHED / name)
    test = first_test(document)
    head, payload, signature = test["expected"]["jws"].split(".")
    test["expected"]["jws"] = f"{head}.{payload}.{flip(signature, 0)}"
    failures = vv.verify_file(write(tmp_path / name, document))
    assert stages(failures) == {"signature"}, failures


@pytest.mark.parametrize("name", PUBLISHED_FILES)
def test_flipped_header_byte_fails_at_intermediate(tmp_path: Path, name: str) -> None:
    document = load(PUBLISHED / name)
    test = first_test(document)
    header = test["intermediate"]["header"]
    index = header.index("alg") + 1
    test["intermediate"]["header"] = header[:index] + "X" + header[index + 1 :]
    failures = vv.verify_file(write(tmp_path / name, document))
    assert stages(failures) == {"intermediate"}, failures
    assert "header" in failures[0]


@pytest.mark.parametrize("name", PUBLISHED_FILES)
def test_consistent_but_unsigned_header_fails_at_signature(tmp_path: Path, name: str) -> None:
    """A header changed everywhere (text, signing input, JWS) still breaks the signature."""
    document = load(PUBLISHED / name)
    test = first_test(document)
    header = test["intermediate"]["header"][:-1] + ',"x":1}'
    new_head = b64url(header.encode("utf-8"))
    _, payload, signature = test["expected"]["jws"].split(".")
    test["intermediate"]["header"] = header
    test["intermediate"]["signingInput"] = f"{new_head}.{payload}"
    test["expected"]["jws"] = f"{new_head}.{payload}.{signature}"
    failures = vv.verify_file(write(tmp_path / name, document))
    assert stages(failures) == {"signature"}, failures


def test_flipped_claims_byte_fails_at_intermediate(tmp_path: Path) -> None:
    document = load(PUBLISHED / "rfc7520-4-4-hs256.json")
    test = first_test(document)
    test["intermediate"]["claims"] = test["intermediate"]["claims"].replace("Frodo", "Frodp")
    failures = vv.verify_file(write(tmp_path / "claims.json", document))
    assert stages(failures) == {"intermediate"}, failures
    assert "claims" in failures[0]


def test_jws_not_over_signing_input_fails_at_jws(tmp_path: Path) -> None:
    document = load(PUBLISHED / "rfc7515-a2-rs256.json")
    test = first_test(document)
    test["intermediate"]["signingInput"] = flip(test["intermediate"]["signingInput"], 3)
    failures = vv.verify_file(write(tmp_path / "jws.json", document))
    assert "jws" in stages(failures), failures


def test_non_canonical_base64url_fails_at_jws(tmp_path: Path) -> None:
    document = load(PUBLISHED / "rfc7515-a1-hs256.json")
    test = first_test(document)
    test["expected"]["jws"] += "="
    failures = vv.verify_file(write(tmp_path / "pad.json", document))
    assert "jws" in stages(failures), failures


def test_token_request_passes(tmp_path: Path) -> None:
    path, _ = token_request_file(tmp_path)
    assert vv.verify_file(path) == []


def test_flipped_form_value_fails_at_token_request(tmp_path: Path) -> None:
    path, document = token_request_file(tmp_path)
    request = first_test(document)["expected"]["tokenRequest"]
    request["form"][0][1] = request["form"][0][1].replace("jwt-bearer", "jwt-bearet")
    failures = vv.verify_file(write(path, document))
    assert stages(failures) == {"tokenRequest"}, failures


def test_flipped_assertion_fails_at_token_request(tmp_path: Path) -> None:
    path, document = token_request_file(tmp_path)
    request = first_test(document)["expected"]["tokenRequest"]
    request["form"][1][1] = flip(request["form"][1][1], 5)
    request["body"] = vv.form_encode([(n, v) for n, v in request["form"]])
    failures = vv.verify_file(write(path, document))
    assert stages(failures) == {"tokenRequest"}, failures
    assert "assertion is not expected.jws" in failures[0]


def test_wrong_header_order_fails_at_token_request(tmp_path: Path) -> None:
    path, document = token_request_file(tmp_path)
    request = first_test(document)["expected"]["tokenRequest"]
    request["headers"].reverse()
    failures = vv.verify_file(write(path, document))
    assert stages(failures) == {"tokenRequest"}, failures


def basic_group(encoding: str | None, header_encoding: str) -> dict[str, Any]:
    client_id, secret = "m2m client:\u00e9", "s3cr3t/+= &~x"
    if header_encoding == "rfc":
        user = f"{quote(client_id, safe='')}:{quote(secret, safe='')}".encode()  # space as %20
    else:
        user = f"{client_id}:{secret}".encode()
    form = [["grant_type", "client_credentials"], ["scope", "read write"]]
    test_input: dict[str, Any] = {"client_id": client_id, "client_secret": secret}
    if encoding is not None:
        test_input["basic_encoding"] = encoding
    return {
        "type": "TokenRequestTest",
        "tests": [
            {
                "tcId": 1,
                "comment": "client_secret_basic",
                "flags": [],
                "input": test_input,
                "expected": {
                    "reproducible": True,
                    "tokenRequest": {
                        "method": "POST",
                        "url": TOKEN_URL,
                        "headers": [
                            ["Accept", "application/json"],
                            ["Content-Type", "application/x-www-form-urlencoded"],
                            ["Authorization", "Basic " + base64.b64encode(user).decode()],
                        ],
                        "form": form,
                        "body": "grant_type=client_credentials&scope=read+write",
                    },
                },
                "result": "valid",
                "error_code": None,
            }
        ],
    }


@pytest.mark.parametrize(
    ("encoding", "header_encoding", "ok"),
    [(None, "rfc", True), ("rfc", "rfc", True), ("raw", "raw", True), ("raw", "rfc", False), (None, "raw", False)],
)
def test_basic_authorization(tmp_path: Path, encoding: str | None, header_encoding: str, ok: bool) -> None:
    document = envelope([basic_group(encoding, header_encoding)])
    failures = vv.verify_file(write(tmp_path / "basic.json", document))
    if ok:
        assert failures == []
    else:
        assert stages(failures) == {"tokenRequest"}, failures


def test_get_request(tmp_path: Path) -> None:
    form = [["grant_type", "refresh_token"], ["refresh_token", "a b/c\u00e9"]]
    query = "grant_type=refresh_token&refresh_token=a+b%2Fc%C3%A9"
    group: dict[str, Any] = {
        "type": "TokenRequestTest",
        "tests": [
            {
                "tcId": 1,
                "comment": "GET refresh",
                "flags": [],
                "input": {},
                "expected": {
                    "reproducible": True,
                    "tokenRequest": {
                        "method": "GET",
                        "url": f"https://services.example.org/refresh?{query}",
                        "headers": [["Accept", "application/json"]],
                        "form": form,
                        "body": "",
                    },
                },
                "result": "valid",
                "error_code": None,
            }
        ],
    }
    path = write(tmp_path / "get.json", envelope([group]))
    assert vv.verify_file(path) == []
    group["tests"][0]["expected"]["tokenRequest"]["form"][1][1] = "a b/c"
    failures = vv.verify_file(write(path, envelope([group])))
    assert stages(failures) == {"tokenRequest"}, failures


# --------------------------------------------------------------------------- lint


def test_lint_failures(tmp_path: Path) -> None:
    document = load(PUBLISHED / "rfc7515-a1-hs256.json")
    group = document["testGroups"][0]
    group["tests"].append(copy.deepcopy(group["tests"][0]))  # duplicate tcId 1
    group["tests"][1]["flags"] = ["Undeclared"]
    failures = vv.verify_file(write(tmp_path / "lint.json", document))
    text = "\n".join(failures)
    assert "duplicate tcId" in text
    assert "numberOfTests" in text
    assert "'Undeclared' is not declared" in text
    assert "lint" in stages(failures)


def test_non_canonical_formatting_fails_at_lint(tmp_path: Path) -> None:
    document = load(PUBLISHED / "rfc7520-4-1-rs256.json")
    path = tmp_path / "indent4.json"
    path.write_text(json.dumps(document, indent=4, ensure_ascii=False) + "\n", encoding="utf-8")
    assert stages(vv.verify_file(path)) == {"lint"}
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")  # \u2019 escaped
    assert stages(vv.verify_file(path)) == {"lint"}


# --------------------------------------------------------------------------- file keys


def test_file_keys_sign_and_verify(tmp_path: Path) -> None:
    rsa_private, ec_private = rsa_key(), ec_key()
    secret = (SPEC / "keys" / "test-hmac.secret").read_bytes()
    public_jwk = load(SPEC / "keys" / "test-rsa-2048.public.jwk.json")

    def es256(data: bytes) -> bytes:
        r, s = decode_dss_signature(ec_private.sign(data, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    def ps256(data: bytes) -> bytes:
        scheme = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
        return rsa_private.sign(data, scheme, hashes.SHA256())

    def rs256(data: bytes) -> bytes:
        return rsa_private.sign(data, padding.PKCS1v15(), hashes.SHA256())

    def hs256(data: bytes) -> bytes:
        return hmac.new(secret, data, "sha256").digest()

    groups = [
        {
            "type": "JwsTest",
            "key": {"kty": "RSA", "file": "keys/test-rsa-2048.pkcs8.pem", "publicJwk": public_jwk},
            "tests": [jws_test("RS256", rs256, 1), jws_test("PS256", ps256, 2)],
        },
        {
            "type": "JwsTest",
            "key": {"kty": "RSA", "file": "keys/test-rsa-2048.pkcs1.pem"},
            "tests": [jws_test("RS256", rs256, 3)],
        },
        {
            "type": "JwsTest",
            "key": {"kty": "RSA", "file": "keys/test-rsa-2048.encrypted.pem", "passphrase": "m2mauth-test-passphrase"},
            "tests": [jws_test("RS256", rs256, 4)],
        },
        {
            "type": "JwsTest",
            "key": {"kty": "RSA", "file": "keys/test-rsa-2048.jwks.json", "kid": "m2mauth-test-rsa-1"},
            "tests": [jws_test("RS256", rs256, 5)],
        },
        {
            "type": "JwsTest",
            "key": {"kty": "RSA", "file": "keys/test-clms-service-key.json"},
            "tests": [jws_test("RS256", rs256, 6)],
        },
        {
            "type": "JwsTest",
            "key": {"kty": "EC", "file": "keys/test-ec-p256.pkcs8.pem"},
            "tests": [jws_test("ES256", es256, 7)],
        },
        {
            "type": "JwsTest",
            "key": {"kty": "EC", "file": "keys/test-ec-p256.jwk.json"},
            "tests": [jws_test("ES256", es256, 8)],
        },
        {
            "type": "JwsTest",
            "key": {"kty": "oct", "file": "keys/test-hmac.secret"},
            "tests": [jws_test("HS256", hs256, 9)],
        },
    ]
    document = envelope(groups)
    path = write(tmp_path / "keys.json", document)
    assert vv.verify_file(path) == []

    # the RS256 signature made with the unrelated key must fail for the test key
    other = serialization.load_pem_private_key(
        (SPEC / "keys" / "test-rsa-2048-other.pkcs8.pem").read_bytes(), password=None
    )
    assert isinstance(other, rsa.RSAPrivateKey)
    broken = copy.deepcopy(document)
    broken["testGroups"][1]["tests"][0] = jws_test(
        "RS256", lambda d: other.sign(d, padding.PKCS1v15(), hashes.SHA256()), 3
    )
    broken["testGroups"][5]["tests"][0]["expected"]["jws"] = (
        broken["testGroups"][5]["tests"][0]["expected"]["jws"][:-3] + "AAA"
    )
    failures = vv.verify_file(write(path, broken))
    assert stages(failures) == {"signature"}, failures
    assert {f.split(":")[0] for f in failures} == {"tcId 3", "tcId 7"}


def test_public_jwk_of_another_key_fails_at_key(tmp_path: Path) -> None:
    other = serialization.load_pem_private_key(
        (SPEC / "keys" / "test-rsa-2048-other.pkcs8.pem").read_bytes(), password=None
    )
    assert isinstance(other, rsa.RSAPrivateKey)
    numbers = other.public_key().public_numbers()
    public_jwk = {
        "kty": "RSA",
        "e": b64url(numbers.e.to_bytes(3, "big")),
        "n": b64url(numbers.n.to_bytes(256, "big")),
    }
    group: dict[str, Any] = {
        "type": "JwsTest",
        "key": {"kty": "RSA", "file": "keys/test-rsa-2048.pkcs8.pem", "publicJwk": public_jwk},
        "tests": [jws_test("RS256", lambda d: rsa_key().sign(d, padding.PKCS1v15(), hashes.SHA256()))],
    }
    failures = vv.verify_file(write(tmp_path / "pub.json", envelope([group])))
    assert "key" in stages(failures), failures


# --------------------------------------------------------------------------- error codes


def invalid_test(tc_id: int, code: str, **fields: Any) -> dict[str, Any]:
    test: dict[str, Any] = {
        "tcId": tc_id,
        "comment": code,
        "flags": [],
        "input": {},
        "expected": {"reproducible": True},
        "result": "invalid",
        "error_code": code,
    }
    for name, value in fields.items():
        test[name] = value
    return test


def claims_text(**claims: Any) -> dict[str, str]:
    return {"claims": json.dumps(claims, separators=(",", ":"))}


def error_group(tests: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "type": "JwsTest",
        "key": {"kty": "RSA", "file": "keys/test-rsa-2048.pkcs8.pem"},
        "tests": tests,
    }


def test_error_codes_confirmed(tmp_path: Path) -> None:
    tests = [
        invalid_test(1, "key_algorithm_mismatch", input={"alg": "HS256"}),
        invalid_test(2, "key_algorithm_mismatch", input={"alg": "ES256"}),
        invalid_test(
            3,
            "lifetime_exceeded",
            input={"max_lifetime": 3600},
            intermediate=claims_text(iss="a", aud=TOKEN_URL, iat=100, exp=7300),
        ),
        invalid_test(
            4,
            "audience_mismatch",
            input={"token_url": TOKEN_URL},
            intermediate=claims_text(iss="a", aud="https://other.example.org/", exp=1),
        ),
        invalid_test(
            5,
            "missing_claim",
            input={"required_claims": ["iss", "sub"]},
            intermediate=claims_text(iss="a", aud=TOKEN_URL, exp=1),
        ),
        invalid_test(6, "missing_credential", input={"missing": ["client_secret"]}),
        invalid_test(7, "missing_credential", input={"missing": "private_key", "private_key": None}),
    ]
    path = write(tmp_path / "errors.json", envelope([error_group(tests)]))
    assert vv.verify_file(path) == []


@pytest.mark.parametrize(
    "test",
    [
        invalid_test(1, "key_algorithm_mismatch", input={"alg": "RS256"}),
        invalid_test(1, "key_algorithm_mismatch", input={"alg": "PS384"}),
        invalid_test(
            1,
            "lifetime_exceeded",
            input={"max_lifetime": 3600},
            intermediate=claims_text(iss="a", aud=TOKEN_URL, iat=100, exp=3700),
        ),
        invalid_test(1, "lifetime_exceeded", input={}),
        invalid_test(
            1,
            "audience_mismatch",
            input={"token_url": TOKEN_URL},
            intermediate=claims_text(iss="a", aud=[TOKEN_URL], exp=1),
        ),
        invalid_test(
            1,
            "missing_claim",
            input={"required_claims": ["iss"]},
            intermediate=claims_text(iss="a", aud=TOKEN_URL, exp=1),
        ),
        invalid_test(1, "missing_credential", input={"missing": []}),
        invalid_test(1, "missing_credential", input={"missing": ["client_secret"], "client_secret": "given"}),
        invalid_test(1, "no_such_code"),
    ],
)
def test_error_codes_refuted(tmp_path: Path, test: dict[str, Any]) -> None:
    path = write(tmp_path / "errors.json", envelope([error_group([test])]))
    failures = vv.verify_file(path)
    assert stages(failures) == {"error_code"}, failures


# --------------------------------------------------------------------------- encoders


def test_form_encoding_matches_quote_plus() -> None:
    samples = ["", "a b", "~-._", "é/?&=+%", "\u2019\U0001f600", "A-Z a-z 0-9"]
    for sample in samples:
        assert vv.form_encode_component(sample) == quote_plus(sample, safe="")


def test_b64url_decode_is_strict() -> None:
    assert vv.b64url_decode("AQAB") == b"\x01\x00\x01"
    for bad in ("AQAB=", "AQ+B", "AQ/B", "A", "AR"):
        with pytest.raises(ValueError, match="base64url"):
            vv.b64url_decode(bad)


# --------------------------------------------------------------------------- other schemas


def test_schemas() -> None:
    jsonschema = pytest.importorskip("jsonschema")

    def validator(name: str) -> Any:
        schema = load(SPEC / "schema" / name)
        jsonschema.Draft202012Validator.check_schema(schema)
        return jsonschema.Draft202012Validator(schema)

    for path in sorted((SPEC / "schema").glob("*.schema.json")):
        validator(path.name)
        assert path.read_text(encoding="utf-8") == vv.canonical_text(load(path)), path

    service_key = validator("service-key.schema.json")
    assert service_key.is_valid(load(SPEC / "keys" / "test-clms-service-key.json"))
    assert not service_key.is_valid({"client_id": "x", "user_id": "y", "token_uri": "https://t"})

    claims = validator("claims.schema.json")
    assert claims.is_valid({"iss": "a", "sub": "b", "aud": [TOKEN_URL], "iat": 1, "exp": 2})
    assert not claims.is_valid({"iss": "a", "aud": TOKEN_URL, "exp": 2.5})

    response = validator("token-response.schema.json")
    assert response.is_valid({"access_token": "t", "token_type": "Bearer", "expires_in": 3600})
    assert response.is_valid({"access_token": "t", "token_type": "Bearer", "expires_in": "3600"})
    assert not response.is_valid({"access_token": "t", "token_type": "Bearer", "expires_in": "1h"})
    assert not response.is_valid({"access_token": "t"})

    error = validator("error-response.schema.json")
    assert error.is_valid({"error": "invalid_grant", "error_description": "expired"})
    assert not error.is_valid({"error": 'bad"quote'})

    request = validator("token-request.schema.json")
    assert request.is_valid({"method": "GET", "url": TOKEN_URL, "headers": [["Accept", "x"]], "form": [], "body": ""})
    assert not request.is_valid({"method": "PUT", "url": TOKEN_URL, "headers": [], "form": [], "body": ""})


def test_schema_stage_reports_shape_errors(tmp_path: Path) -> None:
    pytest.importorskip("jsonschema")
    document = load(PUBLISHED / "rfc7515-a1-hs256.json")
    first_test(document)["result"] = "fine"
    first_test(document)["tcid"] = 1
    failures = vv.verify_file(write(tmp_path / "shape.json", document))
    assert "schema" in stages(failures), failures


def test_runs_without_jsonschema(tmp_path: Path) -> None:
    """jsonschema is optional: with it hidden, the other stages still run and still fail."""
    document = load(PUBLISHED / "rfc7515-a2-rs256.json")
    test = first_test(document)
    test["tcid"] = 1  # a shape error only the schema stage sees
    head, payload, signature = test["expected"]["jws"].split(".")
    test["expected"]["jws"] = f"{head}.{payload}.{flip(signature, 0)}"
    path = write(tmp_path / "no-schema.json", document)
    code = (
        "import sys; sys.modules['jsonschema'] = None; sys.path.insert(0, sys.argv[1]);"
        "import verify_vectors as vv; from pathlib import Path;"
        "print('\\n'.join(vv.verify_file(Path(sys.argv[2]))))"
    )
    run = subprocess.run(
        [sys.executable, "-c", code, str(SCRIPT.parent), str(path)], capture_output=True, text=True, check=True
    )
    failures = run.stdout.strip().splitlines()
    assert stages(failures) == {"signature"}, failures
    if importlib.util.find_spec("jsonschema") is not None:
        assert "schema" in stages(vv.verify_file(path))
