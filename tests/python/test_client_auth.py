"""Client authentication methods: exact Basic header bytes (spec/CONVENTIONS.md), fields, errors, repr."""

from __future__ import annotations

import base64
from pathlib import Path

import jwt
import pytest

from m2mauth import ClientAuth, ConfigError, load_key, secret_key
from m2mauth.client_auth import AUTH_METHODS, basic_authorization

CLIENT_ID = "m2m client"
SECRET = "a:b%c+dé €"
TOKEN_URL = "https://auth.example.org/token"


def decode_basic(value: str) -> bytes:
    scheme, _, encoded = value.partition(" ")
    assert scheme == "Basic"
    return base64.b64decode(encoded, validate=True)


def test_basic_rfc_form_encodes_id_and_secret() -> None:
    header = basic_authorization(CLIENT_ID, SECRET, "rfc")
    # CONVENTIONS.md: form-encoded (unreserved bytes kept, everything else %XX upper-case, UTF-8),
    # except that a space becomes %20 rather than '+'.
    assert decode_basic(header) == b"m2m%20client:a%3Ab%25c%2Bd%C3%A9%20%E2%82%AC"
    assert basic_authorization(CLIENT_ID, SECRET) == header  # rfc is the default


def test_basic_raw_sends_utf8_bytes() -> None:
    header = basic_authorization(CLIENT_ID, SECRET, "raw")
    assert decode_basic(header) == b"m2m client:a:b%c+d\xc3\xa9 \xe2\x82\xac"


def test_basic_uses_standard_base64_with_padding() -> None:
    header = basic_authorization("ab", "c", "raw")  # "ab:c" -> 4 bytes -> padded
    assert header == "Basic YWI6Yw=="
    # Standard alphabet: '?:??' encodes with a '/', which base64url would turn into '_'.
    assert basic_authorization("?", "??", "raw") == "Basic Pzo/Pw=="


def test_basic_unreserved_characters_are_kept() -> None:
    assert decode_basic(basic_authorization("A-z.0_9~", "x", "rfc")) == b"A-z.0_9~:x"
    assert decode_basic(basic_authorization("a*b", "'!()", "rfc")) == b"a%2Ab:%27%21%28%29"


def test_unknown_basic_encoding() -> None:
    with pytest.raises(ConfigError) as info:
        basic_authorization("a", "b", "latin-1")
    assert info.value.code == "invalid_option"
    with pytest.raises(ConfigError) as info:
        ClientAuth("client_secret_basic", "a", client_secret="b", basic_encoding="RFC")
    assert info.value.code == "invalid_option"


@pytest.mark.parametrize(
    ("encoding", "expected"),
    [("rfc", b"m2m%20client:a%3Ab%25c%2Bd%C3%A9%20%E2%82%AC"), ("raw", b"m2m client:a:b%c+d\xc3\xa9 \xe2\x82\xac")],
)
def test_client_secret_basic_apply(encoding: str, expected: bytes) -> None:
    auth = ClientAuth("client_secret_basic", CLIENT_ID, client_secret=SECRET, basic_encoding=encoding)
    headers, form = auth.apply(TOKEN_URL)
    assert form == []
    assert [name for name, _ in headers] == ["Authorization"]
    assert decode_basic(headers[0][1]) == expected


def test_client_secret_post_apply() -> None:
    headers, form = ClientAuth("client_secret_post", CLIENT_ID, client_secret=SECRET).apply(TOKEN_URL)
    assert headers == []
    assert form == [("client_id", CLIENT_ID), ("client_secret", SECRET)]


def test_none_apply() -> None:
    headers, form = ClientAuth("none", "public-client").apply(TOKEN_URL)
    assert headers == []
    assert form == [("client_id", "public-client")]


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post", "client_secret_jwt"])
def test_missing_secret(method: str) -> None:
    for secret in (None, ""):
        with pytest.raises(ConfigError) as info:
            ClientAuth(method, "client", client_secret=secret)
        assert info.value.code == "missing_credential"
        assert "client_secret" in (info.value.hint or "")


def test_missing_key_for_private_key_jwt() -> None:
    with pytest.raises(ConfigError) as info:
        ClientAuth("private_key_jwt", "client")
    assert info.value.code == "missing_credential"
    assert "private_key" in (info.value.hint or "")


@pytest.mark.parametrize("method", AUTH_METHODS)
def test_missing_client_id(method: str, hmac_secret: str) -> None:
    with pytest.raises(ConfigError) as info:
        ClientAuth(method, "", client_secret="s", key=secret_key(hmac_secret))
    assert info.value.code == "missing_credential"


@pytest.mark.parametrize("method", ["basic", "client_secret", "tls_client_auth", "", "CLIENT_SECRET_BASIC"])
def test_unknown_method(method: str) -> None:
    with pytest.raises(ConfigError) as info:
        ClientAuth(method, "client", client_secret="s")
    assert info.value.code == "invalid_auth_method"
    for known in AUTH_METHODS:
        assert known in (info.value.hint or "")


def test_private_key_jwt_checks_algorithm_up_front(keys_dir: Path) -> None:
    key = load_key(keys_dir / "test-rsa-2048.pkcs8.pem")
    with pytest.raises(ConfigError) as info:
        ClientAuth("private_key_jwt", "client", key=key, alg="HS256")
    assert info.value.code == "key_algorithm_mismatch"
    ClientAuth("private_key_jwt", "client", key=key, alg="PS256")  # fits: no error


def test_private_key_jwt_with_ec_key(keys_dir: Path, ec_public) -> None:
    auth = ClientAuth("private_key_jwt", "client", key=load_key(keys_dir / "test-ec-p256.pkcs8.pem"))
    _, form = auth.apply(TOKEN_URL, now=1_767_225_600)
    token = dict(form)["client_assertion"]
    claims = jwt.decode(token, ec_public, algorithms=["ES256"], audience=TOKEN_URL, options={"verify_exp": False})
    assert claims["iss"] == claims["sub"] == "client"


def test_repr_hides_secret_and_key(keys_dir: Path) -> None:
    basic = ClientAuth("client_secret_basic", CLIENT_ID, client_secret=SECRET)
    assert repr(basic) == "<ClientAuth client_secret_basic client_id='m2m client'>"
    assert SECRET not in repr(basic) and SECRET not in str(basic)
    jwk = load_key(keys_dir / "test-rsa-2048.jwk.json")
    pkj = ClientAuth("private_key_jwt", "svc", key=jwk)
    assert "MII" not in repr(pkj)
    assert jwk.public_jwk()["n"][:20] not in repr(pkj)


def test_client_auth_is_frozen() -> None:
    auth = ClientAuth("client_secret_post", "c", client_secret="s")
    with pytest.raises(AttributeError):
        auth.client_secret = "other"  # type: ignore[misc]
