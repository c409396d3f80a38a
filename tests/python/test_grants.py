"""TokenRequest and the grant builders: header order, form order, body bytes, GET refresh, redaction."""

from __future__ import annotations

import json
import string
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from m2mauth import ClientAuth, ConfigError, TokenRequest, grants, load_key
from m2mauth.token_request import SECRET_FIELDS, form_encode

TOKEN_URL = "https://identity.disruptive-technologies.com/oauth2/token"
OPENAIRE_REFRESH = "https://services.openaire.eu/uoa-user-management/api/users/getAccessToken"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
POST_HEADERS = (("Accept", "application/json"), ("Content-Type", "application/x-www-form-urlencoded"))
UNRESERVED = set((string.ascii_letters + string.digits + "-._~").encode())


def reference_encode(text: str) -> str:
    """spec/CONVENTIONS.md form encoding, written from the rules (not with urllib)."""
    out = []
    for byte in text.encode("utf-8"):
        if byte in UNRESERVED:
            out.append(chr(byte))
        elif byte == 0x20:
            out.append("+")
        else:
            out.append(f"%{byte:02X}")
    return "".join(out)


def test_jwt_bearer_request_matches_the_dt_guide() -> None:
    request = grants.jwt_bearer(TOKEN_URL, "aaa.bbb.ccc")
    assert request.method == "POST"
    assert request.url == request.full_url == TOKEN_URL
    assert request.headers == POST_HEADERS
    assert request.form == (("grant_type", JWT_BEARER), ("assertion", "aaa.bbb.ccc"))
    # The guide's body shows grant_type as urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer.
    assert request.body == "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=aaa.bbb.ccc"


def test_header_order_with_authorization() -> None:
    auth = ClientAuth("client_secret_basic", "id", client_secret="secret")
    request = grants.client_credentials("https://aai.openaire.eu/oidc/token", auth)
    assert [name for name, _ in request.headers] == ["Accept", "Content-Type", "Authorization"]
    assert request.header("authorization") == "Basic aWQ6c2VjcmV0"
    assert request.header("AUTHORIZATION") == request.header("Authorization")
    assert request.header("X-Missing") is None
    assert request.form == (("grant_type", "client_credentials"),)
    assert request.body == "grant_type=client_credentials"


def test_form_order_grant_scope_extra_then_client_auth() -> None:
    auth = ClientAuth("client_secret_post", "id", client_secret="s e/c")
    request = grants.password(
        "https://auth.example.org/token",
        "user@example.org",
        "p&ss=word",
        client_auth=auth,
        scope="read write",
        extra=[("audience", "api")],
    )
    assert [name for name, _ in request.form] == [
        "grant_type",
        "username",
        "password",
        "scope",
        "audience",
        "client_id",
        "client_secret",
    ]
    assert request.body == (
        "grant_type=password&username=user%40example.org&password=p%26ss%3Dword&scope=read+write"
        "&audience=api&client_id=id&client_secret=s+e%2Fc"
    )
    assert request.headers == POST_HEADERS


def test_refresh_token_grant() -> None:
    request = grants.refresh_token("https://auth.example.org/token", "rt-1", client_auth=ClientAuth("none", "cid"))
    assert request.form == (("grant_type", "refresh_token"), ("refresh_token", "rt-1"), ("client_id", "cid"))


def test_device_grants() -> None:
    auth = ClientAuth("none", "cid")
    start = grants.device_authorization("https://auth.example.org/device", auth, scope="openid")
    assert start.form == (("scope", "openid"), ("client_id", "cid"))
    poll = grants.device_code("https://auth.example.org/token", "dev-code", auth)
    assert poll.form == (
        ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
        ("device_code", "dev-code"),
        ("client_id", "cid"),
    )


def test_jwt_bearer_with_client_assertion(keys_dir: Path, now: int) -> None:
    auth = ClientAuth("private_key_jwt", "svc", key=load_key(keys_dir / "test-rsa-2048.pkcs8.pem"))
    request = grants.jwt_bearer(TOKEN_URL, "grant.jwt.sig", client_auth=auth, now=now, jti_source=lambda: "j")
    names = [name for name, _ in request.form]
    assert names == ["grant_type", "assertion", "client_assertion_type", "client_assertion"]


def test_get_refresh_for_openaire() -> None:
    request = grants.get_refresh(OPENAIRE_REFRESH, "a b/c+d=é")
    assert request.method == "GET"
    assert request.headers == (("Accept", "application/json"),)
    assert request.body == ""
    assert request.full_url == OPENAIRE_REFRESH + "?refreshToken=a+b%2Fc%2Bd%3D%C3%A9"
    assert request.to_dict() == {
        "method": "GET",
        "url": OPENAIRE_REFRESH + "?refreshToken=a+b%2Fc%2Bd%3D%C3%A9",
        "headers": [["Accept", "application/json"]],
        "form": [["refreshToken", "a b/c+d=é"]],
        "body": "",
    }


def test_get_refresh_appends_to_an_existing_query() -> None:
    request = grants.get_refresh("https://example.org/refresh?client=x", "tok", parameter="rt")
    assert request.full_url == "https://example.org/refresh?client=x&rt=tok"


@pytest.mark.parametrize(
    "call",
    [
        lambda: grants.jwt_bearer(TOKEN_URL, ""),
        lambda: grants.password(TOKEN_URL, "", "pw"),
        lambda: grants.password(TOKEN_URL, "user", ""),
        lambda: grants.refresh_token(TOKEN_URL, ""),
        lambda: grants.get_refresh(OPENAIRE_REFRESH, ""),
    ],
)
def test_missing_credentials(call) -> None:
    with pytest.raises(ConfigError) as info:
        call()
    assert info.value.code == "missing_credential"


def test_missing_token_url() -> None:
    with pytest.raises(ConfigError) as info:
        grants.jwt_bearer("", "a.b.c")
    assert info.value.code == "missing_token_url"


def test_non_text_form_values_are_refused() -> None:
    with pytest.raises(ConfigError) as info:
        grants.jwt_bearer(TOKEN_URL, "a.b.c", extra=[("n", 5)])  # type: ignore[list-item]
    assert info.value.code == "invalid_option"


def test_form_encode_known_bytes() -> None:
    assert form_encode([("a b", "c d"), ("é", "€"), ("x", "~-._*!'()/?:@")]) == (
        "a+b=c+d&%C3%A9=%E2%82%AC&x=~-._%2A%21%27%28%29%2F%3F%3A%40"
    )
    assert form_encode([]) == ""
    assert form_encode([("k", "")]) == "k="


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.text(), st.text()), max_size=5))
def test_form_encode_follows_the_conventions(pairs: list[tuple[str, str]]) -> None:
    # st.text() leaves out lone surrogates, which are not text that can be sent.
    expected = "&".join(reference_encode(k) + "=" + reference_encode(v) for k, v in pairs)
    assert form_encode(pairs) == expected


def test_to_dict_is_the_vector_serialisation() -> None:
    request = grants.jwt_bearer(TOKEN_URL, "aaa.bbb.ccc", scope="s")
    assert request.to_dict() == {
        "method": "POST",
        "url": TOKEN_URL,
        "headers": [["Accept", "application/json"], ["Content-Type", "application/x-www-form-urlencoded"]],
        "form": [["grant_type", JWT_BEARER], ["assertion", "aaa.bbb.ccc"], ["scope", "s"]],
        "body": f"grant_type={JWT_BEARER.replace(':', '%3A')}&assertion=aaa.bbb.ccc&scope=s",
    }
    assert request.field("scope") == "s"
    assert request.field("nope") is None


def test_redacted_masks_every_secret(keys_dir: Path, now: int) -> None:
    secrets = {
        "assertion": "ASSERTION-SECRET",
        "client_secret": "CLIENT-SECRET",
        "password": "PASSWORD-SECRET",
        "refresh_token": "REFRESH-SECRET",
        "refreshToken": "REFRESH2-SECRET",
        "device_code": "DEVICE-SECRET",
        "code": "CODE-SECRET",
    }
    request = TokenRequest(
        "POST",
        TOKEN_URL,
        (*POST_HEADERS, ("Authorization", "Basic QkFTSUMtU0VDUkVU")),
        (("grant_type", "x"), ("client_id", "visible-id"), ("scope", "visible-scope"), *secrets.items()),
    )
    redacted = request.redacted()
    text = json.dumps(redacted)
    for value in (*secrets.values(), "QkFTSUMtU0VDUkVU"):
        assert value not in text
    form = dict(redacted["form"])
    assert form["client_id"] == "visible-id"
    assert form["scope"] == "visible-scope"
    assert form["grant_type"] == "x"
    assert all(form[name] == "<redacted>" for name in secrets)
    assert dict(redacted["headers"])["Authorization"] == "<redacted>"
    assert dict(redacted["headers"])["Accept"] == "application/json"
    assert set(secrets) <= SECRET_FIELDS


def test_redacted_get_hides_the_query() -> None:
    request = grants.get_refresh(OPENAIRE_REFRESH, "REFRESH-SECRET-123")
    assert "REFRESH-SECRET-123" not in json.dumps(request.redacted())
    assert request.redacted()["url"] == OPENAIRE_REFRESH


def test_repr_has_no_secret_values(keys_dir: Path, now: int) -> None:
    auth = ClientAuth("client_secret_basic", "id", client_secret="SUPER-SECRET")
    request = grants.password(TOKEN_URL, "user", "PASSWORD-123", client_auth=auth)
    text = repr(request)
    assert text == f"<TokenRequest POST {TOKEN_URL} fields=[grant_type, username, password]>"
    assert "PASSWORD-123" not in text and "SUPER-SECRET" not in text and "Basic" not in text
    get = grants.get_refresh(OPENAIRE_REFRESH, "REFRESH-SECRET-123")
    assert "REFRESH-SECRET-123" not in repr(get)


def test_token_request_is_frozen() -> None:
    request = grants.jwt_bearer(TOKEN_URL, "a.b.c")
    with pytest.raises(AttributeError):
        request.url = "https://evil.example"  # type: ignore[misc]
