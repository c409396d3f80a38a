"""base64url, the JSON segments m2mauth signs, and compact JWS checked with PyJWT."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import jwt
import pytest

from m2mauth import ConfigError, jws, load_key, secret_key

# RFC 7515 Appendix A.1 (HS256): header and claims with CRLF line breaks, so the signer must work on
# the given signing input, not on re-serialised JSON.
RFC7515_A1_KEY = "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"
RFC7515_A1_INPUT = (
    "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
    ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
)
RFC7515_A1_SIGNATURE = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        (b"", ""),
        (b"f", "Zg"),
        (b"fo", "Zm8"),
        (b"foo", "Zm9v"),
        (b"\xfb\xff", "-_8"),
        (b"\xfb\xef\xbe", "----"),
        (b"\xff\xff\xff", "____"),
        (b'{"alg":"HS256"}', "eyJhbGciOiJIUzI1NiJ9"),
    ],
)
def test_b64url_known_answers(raw: bytes, text: str) -> None:
    assert jws.b64url_encode(raw) == text
    assert jws.b64url_decode(text) == raw


def test_b64url_round_trip_random_bytes() -> None:
    for size in range(0, 70):
        data = os.urandom(size)
        encoded = jws.b64url_encode(data)
        assert "=" not in encoded and "+" not in encoded and "/" not in encoded
        assert encoded == base64.urlsafe_b64encode(data).decode().rstrip("=")
        assert jws.b64url_decode(encoded) == data


@pytest.mark.parametrize(
    "text",
    [
        "Zg==",  # padding
        "Zm8=",
        "a+b/",  # standard alphabet
        "ab+c",
        "ab/c",
        "Z",  # a length of 1 mod 4 is never valid
        "Zm9vY",
        "Zm 9v",  # whitespace
        "Zm9v\n",
        "Zm9v!",
        "é",  # non-ASCII
        "Zm.9",
    ],
)
def test_b64url_decode_rejects_bad_text(text: str) -> None:
    with pytest.raises(ConfigError) as info:
        jws.b64url_decode(text)
    assert info.value.code == "invalid_base64"


@pytest.mark.parametrize("value", [b"Zm9v", None, 5])
def test_b64url_decode_rejects_non_text(value: object) -> None:
    with pytest.raises(ConfigError) as info:
        jws.b64url_decode(value)  # type: ignore[arg-type]
    assert info.value.code == "invalid_base64"


def test_json_segment_is_compact_ordered_and_utf8() -> None:
    obj = {"z": 1, "aud": "https://land.copernicus.eu/@@oauth2-token", "a": ["x", {"k": "é €"}], "n": None}
    text = jws.json_segment(obj)
    assert text == '{"z":1,"aud":"https://land.copernicus.eu/@@oauth2-token","a":["x",{"k":"é €"}],"n":null}'
    assert " " not in text.replace("é €", "")
    assert "\\u" not in text
    assert "\\/" not in text
    assert list(json.loads(text)) == ["z", "aud", "a", "n"]


def test_signing_input_is_b64url_of_utf8_segments() -> None:
    header, claims = '{"alg":"HS256"}', '{"iss":"é"}'
    expected = (
        base64.urlsafe_b64encode(header.encode()).decode().rstrip("=")
        + "."
        + base64.urlsafe_b64encode('{"iss":"é"}'.encode()).decode().rstrip("=")
    )
    assert jws.signing_input(header, claims) == expected


def test_rfc7515_a1_hs256_known_answer() -> None:
    key = secret_key(base64.urlsafe_b64decode(RFC7515_A1_KEY + "=="))
    assert jws.sign(RFC7515_A1_INPUT, key, "HS256") == RFC7515_A1_INPUT + "." + RFC7515_A1_SIGNATURE


def test_compact_rs256_verifies_with_pyjwt(keys_dir: Path, rsa_public) -> None:
    key = load_key(keys_dir / "test-rsa-2048.pkcs8.pem")
    header = {"alg": "RS256", "typ": "JWT", "kid": "k1"}
    claims = {"iss": "client", "aud": "https://example.org/token", "iat": 1_700_000_000, "name": "Ünïcode"}
    token = jws.compact(header, claims, key)
    assert jwt.get_unverified_header(token) == header
    decoded = jwt.decode(
        token, rsa_public, algorithms=["RS256"], audience="https://example.org/token", options={"verify_exp": False}
    )
    assert decoded == claims
    head, body, _ = token.split(".")
    assert base64.urlsafe_b64decode(head + "==").decode() == '{"alg":"RS256","typ":"JWT","kid":"k1"}'
    assert base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode("utf-8") == jws.json_segment(claims)


@pytest.mark.parametrize("alg", ["PS256", "PS512", "RS384"])
def test_compact_other_rsa_algorithms_verify(keys_dir: Path, rsa_public, alg: str) -> None:
    key = load_key(keys_dir / "test-rsa-2048.jwk.json")
    token = jws.compact({"alg": alg}, {"sub": "x"}, key)
    assert jwt.decode(token, rsa_public, algorithms=[alg]) == {"sub": "x"}


def test_compact_es256_verifies(keys_dir: Path, ec_public) -> None:
    token = jws.compact({"alg": "ES256", "typ": "JWT"}, {"sub": "x"}, load_key(keys_dir / "test-ec-p256.pkcs8.pem"))
    assert jwt.decode(token, ec_public, algorithms=["ES256"]) == {"sub": "x"}


def test_compact_hs256_verifies(hmac_secret: str) -> None:
    token = jws.compact({"alg": "HS256", "kid": "dt"}, {"iss": "a@b"}, secret_key(hmac_secret))
    assert jwt.decode(token, hmac_secret, algorithms=["HS256"]) == {"iss": "a@b"}
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, hmac_secret + "x", algorithms=["HS256"])


def test_compact_needs_alg(hmac_secret: str) -> None:
    for header in ({}, {"alg": None}, {"alg": 256}):
        with pytest.raises(ConfigError) as info:
            jws.compact(header, {}, secret_key(hmac_secret))
        assert info.value.code == "invalid_header"


def test_compact_refuses_alg_the_key_cannot_sign(keys_dir: Path) -> None:
    with pytest.raises(ConfigError) as info:
        jws.compact({"alg": "HS256"}, {}, load_key(keys_dir / "test-rsa-2048.pkcs8.pem"))
    assert info.value.code == "key_algorithm_mismatch"


def _m2mauth_imports(name: str) -> set[str]:
    """The m2mauth modules a module of the package imports (at run time and for type checking alike)."""
    import ast

    tree = ast.parse((Path(jws.__file__).parent / f"{name}.py").read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            found |= {node.module} if node.module else {alias.name for alias in node.names}
    return found


def test_one_direction_between_jws_and_keys() -> None:
    # keys (and the JWK and algorithm modules under it) never import jws; jws names Key for typing only.
    for name in ("keys", "jwk", "jwa", "base64url"):
        assert "jws" not in _m2mauth_imports(name), name
    assert _m2mauth_imports("base64url") == {"errors"}
    assert _m2mauth_imports("jws") == {"base64url", "errors", "keys"}
    source = (Path(jws.__file__).parent / "jws.py").read_text(encoding="utf-8")
    lines = source.splitlines()
    at = next(i for i, line in enumerate(lines) if line.strip() == "from .keys import Key")
    assert lines[at].startswith("    ") and lines[at - 1].startswith("if TYPE_CHECKING:")
    # The helpers other modules import from jws are the base64url module's own.
    from m2mauth import base64url

    assert jws.b64url_encode is base64url.b64url_encode and jws.b64url_decode is base64url.b64url_decode
