"""Reading token endpoint answers: expiry in every shape, token types, RFC 6749 §5.2 errors, redaction."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone

import pytest

from m2mauth import Token, TokenEndpointError, parse_token_response
from m2mauth.tokens import RFC_ERRORS, error_from_response, redact_text

NOW = 1_767_225_600.0
ACCESS = "at-ACCESS-0123456789abcdefghijklmnopqrstuvwxyz"
REFRESH = "rt-REFRESH-0123456789abcdefghijklmnopqrstuvwxyz"


def utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=timezone.utc)


def parse(body: object, status: int = 200, **kwargs: object) -> Token:
    text = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return parse_token_response(status, text, "application/json", now=NOW, **kwargs)  # type: ignore[arg-type]


def error(status: int, body: object, content_type: str | None = "application/json") -> TokenEndpointError:
    text = body if isinstance(body, (str, bytes)) else json.dumps(body)
    with pytest.raises(TokenEndpointError) as info:
        parse_token_response(status, text, content_type, now=NOW, url="https://auth.example.org/token")
    return info.value


def test_dt_guide_response() -> None:
    token = parse({"access_token": "d663e83546294b158fea2574a1945319", "token_type": "bearer", "expires_in": 3599})
    assert token.access_token == "d663e83546294b158fea2574a1945319"
    assert token.token_type == "Bearer"
    assert token.expires_at == utc(NOW + 3599)
    assert token.expires_at.tzinfo is not None
    assert token.issued_at == utc(NOW)
    assert token.lifetime == 3599
    assert token.seconds_left(NOW + 99) == 3500
    assert token.refresh_token is None and token.scope is None
    assert token.authorization == "Bearer d663e83546294b158fea2574a1945319"


@pytest.mark.parametrize(
    ("expires_in", "expected"),
    [
        (3599, NOW + 3599),
        (3599.5, NOW + 3599.5),
        ("3599", NOW + 3599),
        (" 3599 ", NOW + 3599),
        ("59.5", NOW + 59.5),
        (0, NOW),
        (-5, NOW - 5),
    ],
)
def test_expires_in_shapes(expires_in: object, expected: float) -> None:
    assert parse({"access_token": "x", "expires_in": expires_in}).expires_at == utc(expected)


@pytest.mark.parametrize("garbage", ["soon", "", "NaN", "inf", "3599s", True, None, [3599], {"s": 1}])
def test_garbage_expires_in_is_ignored(garbage: object) -> None:
    token = parse({"access_token": "x", "expires_in": garbage})
    assert token.expires_at is None
    assert token.expires_in is None
    assert token.lifetime is None
    assert not token.is_expired(NOW + 10**6)
    fallback = parse({"access_token": "x", "expires_in": garbage}, default_lifetime=600)
    assert fallback.expires_at == utc(NOW + 600)


def test_expires_at_fallback() -> None:
    assert parse({"access_token": "x", "expires_at": NOW + 120}).expires_at == utc(NOW + 120)
    assert parse({"access_token": "x", "expires_at": str(int(NOW) + 120)}).expires_at == utc(NOW + 120)
    # expires_in wins over expires_at
    assert parse({"access_token": "x", "expires_in": 60, "expires_at": NOW + 120}).expires_at == utc(NOW + 60)


def test_jwt_exp_fallback(b64url) -> None:
    claims = {"sub": "x", "exp": int(NOW) + 900}
    access = b64url(b'{"alg":"RS256"}') + "." + b64url(json.dumps(claims).encode()) + "." + b64url(b"sig" * 20)
    assert parse({"access_token": access}).expires_at == utc(NOW + 900)
    assert parse({"access_token": access, "expires_in": 60}).expires_at == utc(NOW + 60)
    assert parse({"access_token": access, "expires_at": NOW + 30}).expires_at == utc(NOW + 30)
    # A JWT-looking access token without a usable exp, or not decodable, falls through to the default.
    no_exp = b64url(b'{"alg":"RS256"}') + "." + b64url(b'{"exp":"later"}') + ".c2ln"
    assert parse({"access_token": no_exp}, default_lifetime=300).expires_at == utc(NOW + 300)
    assert parse({"access_token": "a.b.c"}, default_lifetime=300).expires_at == utc(NOW + 300)
    assert parse({"access_token": "a.b.c"}).expires_at is None


def test_profile_default_lifetime_is_the_last_fallback() -> None:
    assert parse({"access_token": "opaque"}, default_lifetime=3600).expires_at == utc(NOW + 3600)
    assert parse({"access_token": "opaque"}).expires_at is None


def test_real_clock_expires_in() -> None:
    token = parse_token_response(200, json.dumps({"access_token": "x", "expires_in": 3600}))
    assert token.expires_in is not None
    assert 3590 <= token.expires_in <= 3600
    assert not token.is_expired()
    assert token.is_expired(margin=3600)


def test_is_expired_with_margin() -> None:
    token = parse({"access_token": "x", "expires_in": 100})
    assert not token.is_expired(NOW)
    assert token.is_expired(NOW + 100)
    assert token.is_expired(NOW + 50, margin=60)
    assert not token.is_expired(NOW + 30, margin=60)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("bearer", "Bearer"),
        ("BEARER", "Bearer"),
        ("Bearer", "Bearer"),
        ("bEaReR", "Bearer"),
        ("DPoP", "DPoP"),
        ("mac", "mac"),
        (5, "Bearer"),
        (None, "Bearer"),
    ],
)
def test_token_type(given: object, expected: str) -> None:
    assert parse({"access_token": "x", "token_type": given}).token_type == expected
    assert parse({"access_token": "x"}).token_type == "Bearer"


def test_refresh_scope_and_id_token() -> None:
    token = parse(
        {
            "access_token": ACCESS,
            "token_type": "Bearer",
            "refresh_token": REFRESH,
            "expires_in": "3600",
            "refresh_expires_in": 1800,
            "scope": "openid profile",
            "id_token": "ID-TOKEN-VALUE",
            "not-before-policy": 0,
        }
    )
    assert token.refresh_token == REFRESH
    assert token.scope == "openid profile"
    assert token.id_token == "ID-TOKEN-VALUE"
    assert token.refresh_expires_at == utc(NOW + 1800)
    assert set(token.raw) == {"token_type", "expires_in", "refresh_expires_in", "scope", "not-before-policy"}
    for secret in (ACCESS, REFRESH, "ID-TOKEN-VALUE"):
        assert secret not in json.dumps(dict(token.raw))


def test_empty_or_odd_optional_members() -> None:
    token = parse({"access_token": "x", "refresh_token": "", "scope": 5, "id_token": None, "refresh_expires_in": "x"})
    assert token.refresh_token is None
    assert token.scope is None
    assert token.id_token is None
    assert token.refresh_expires_at is None


@pytest.mark.parametrize("code", sorted(RFC_ERRORS))
def test_rfc_errors_keep_their_code(code: str) -> None:
    err = error(400, {"error": code, "error_description": "Something went wrong"})
    assert err.code == code
    assert err.error == code
    assert err.status == 400
    assert err.error_description == "Something went wrong"
    assert err.url == "https://auth.example.org/token"
    assert err.hint
    assert code in err.message and "400" in err.message


def test_unknown_error_code_is_not_trusted() -> None:
    err = error(400, {"error": "weird_thing", "error_description": "nope"})
    assert err.code == "token_endpoint_error"
    assert err.error == "weird_thing"
    assert err.hint


def test_error_with_a_success_status() -> None:
    err = error(200, {"error": "invalid_grant"})
    assert err.code == "invalid_grant"
    assert err.status == 200
    assert err.error_description is None


def test_non_string_description_is_dropped() -> None:
    err = error(400, {"error": "invalid_request", "error_description": ["a", "b"]})
    assert err.code == "invalid_request"
    assert err.error_description is None


@pytest.mark.parametrize(
    "body",
    [
        {"token_type": "Bearer"},
        {"access_token": ""},
        {"access_token": 123},
        {"access_token": None},
        ["access_token"],
        "null",
        "not json at all",
        "",
        b"\xff\xfe\x00garbage",
    ],
)
def test_success_status_without_a_token(body: object) -> None:
    err = error(200, body)
    assert err.code == "invalid_response"
    assert err.status == 200
    assert err.hint and "token_url" in err.hint


HTML_502 = (
    "<!DOCTYPE html><html><head><title>502 Bad Gateway</title>"
    "<style>body { color: red; font-family: sans-serif }</style>"
    "<script>var secretish = '<b>not shown</b>';</script></head>"
    "<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx/1.25.3</center>"
    + "<p>padding paragraph text</p>" * 40
    + "</body></html>"
)


def test_html_502_from_a_proxy() -> None:
    err = error(502, HTML_502, "text/html; charset=utf-8")
    assert err.code in ("server_error", "invalid_response")
    assert err.status == 502
    assert err.excerpt is not None
    assert len(err.excerpt) <= 203
    assert "<" not in err.excerpt and ">" not in err.excerpt
    assert "color" not in err.excerpt and "secretish" not in err.excerpt
    assert err.excerpt.startswith("502 Bad Gateway")
    assert "HTML" in err.message
    assert "<title>" not in err.message


def test_html_without_content_type_is_still_stripped() -> None:
    err = error(404, "  <html><body><h1>Not Found</h1></body></html>", None)
    assert err.code == "invalid_response"
    assert err.excerpt == "Not Found"


def test_plain_500() -> None:
    err = error(500, "Internal Server Error", "text/plain")
    assert err.code == "server_error"
    assert err.excerpt == "Internal Server Error"


def test_429_is_rate_limited() -> None:
    err = error(429, "Too Many Requests", "text/plain")
    assert err.code == "rate_limited"
    assert err.status == 429
    assert "retry" in (err.hint or "").lower()
    # An RFC error body wins over the status.
    assert error(429, {"error": "slow_down"}).code == "slow_down"


def test_echoed_token_is_redacted_in_json_errors() -> None:
    body = {"error": "invalid_grant", "error_description": f"refresh token {REFRESH} is expired"}
    err = error(400, body)
    for text in (err.message, err.excerpt or "", err.error_description or "", str(err), repr(err)):
        assert REFRESH not in text
        assert REFRESH[:30] not in text
    assert "<redacted>" in err.message
    assert "<redacted>" in (err.excerpt or "")


def test_echoed_token_is_redacted_in_text_errors() -> None:
    err = error(401, f"Unauthorized: bad token {ACCESS}", "text/plain")
    assert ACCESS not in err.message
    assert ACCESS not in (err.excerpt or "")
    assert "<redacted>" in (err.excerpt or "")


def test_redact_text() -> None:
    assert redact_text("short words stay") == "short words stay"
    assert redact_text("x " + "A" * 24 + " y") == "x <redacted> y"
    assert redact_text("eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlLXZhbHVl") == (
        "<redacted>"
    )


def test_excerpt_redacts_before_truncating() -> None:
    secret = "Zx9" + "q" * 37
    body = "error: " + "word " * 35 + secret  # the secret starts at character 182
    err = error(400, body, "text/plain")
    excerpt = err.excerpt or ""
    assert not re.search(r"Zx9q{4,}", excerpt), excerpt


def test_huge_expires_in_is_not_a_crash() -> None:
    try:
        parse({"access_token": "x", "expires_in": 999_999_999_999})
    except TokenEndpointError:
        pass


def test_huge_expires_at_is_not_a_crash() -> None:
    try:
        parse({"access_token": "x", "expires_at": 500_000_000_000})
    except TokenEndpointError:
        pass


def test_huge_refresh_expires_in_is_not_a_crash() -> None:
    try:
        parse({"access_token": "x", "refresh_expires_in": 999_999_999_999})
    except TokenEndpointError:
        pass


def test_error_from_response_directly() -> None:
    err = error_from_response(403, b'{"error":"access_denied"}', "application/json", url="https://a.example/t")
    assert isinstance(err, TokenEndpointError)
    assert err.code == "access_denied"
    assert err.url == "https://a.example/t"
    assert err.retry_after is None and err.provider_code is None
    json_no_error = error_from_response(400, b'{"message":"nope"}', "application/json")
    assert json_no_error.code == "invalid_response"
    assert "JSON" in json_no_error.message


def test_token_repr_and_str_hide_secrets() -> None:
    token = parse({"access_token": ACCESS, "refresh_token": REFRESH, "expires_in": 60, "scope": "read"})
    for text in (repr(token), str(token), f"{token}", f"{token!r}"):
        assert ACCESS not in text and REFRESH not in text
        assert ACCESS[:10] not in text and REFRESH[:10] not in text
    assert repr(token) == (
        "Token(token_type='Bearer', access_token=<redacted>, expires_at='2026-01-01T00:01:00+00:00', "
        "refresh_token=<redacted>, scope='read')"
    )


def test_token_to_dict() -> None:
    token = parse({"access_token": ACCESS, "refresh_token": REFRESH, "id_token": "IDT", "expires_in": 60})
    hidden = token.to_dict()
    assert hidden["access_token"] == hidden["refresh_token"] == hidden["id_token"] == "<redacted>"
    assert hidden["token_type"] == "Bearer"
    assert hidden["expires_at"] == "2026-01-01T00:01:00+00:00"
    assert ACCESS not in json.dumps(hidden) and REFRESH not in json.dumps(hidden)
    shown = token.to_dict(show_secrets=True)
    assert shown["access_token"] == ACCESS
    assert shown["refresh_token"] == REFRESH
    assert shown["id_token"] == "IDT"
    no_refresh = parse({"access_token": ACCESS}).to_dict()
    assert no_refresh["refresh_token"] is None
    assert no_refresh["expires_at"] is None and no_refresh["expires_in"] is None


def test_token_is_frozen() -> None:
    token = parse({"access_token": "x"})
    with pytest.raises(AttributeError):
        token.access_token = "y"  # type: ignore[misc]


def test_empty_token_type() -> None:
    token = parse({"access_token": "W", "token_type": ""})
    assert token.authorization == "Bearer W"
