"""inspect() on JWT grants (the seed's broken CLMS grant included) and explain() on failed exchanges."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from m2mauth import (
    ConfigError,
    Diagnosis,
    Explanation,
    TokenEndpointError,
    build_request,
    explain,
    inspect,
    load_key,
    make_assertion,
    secret_key,
)
from m2mauth.tokens import error_from_response

CLMS_URL = "https://land.copernicus.eu/@@oauth2-token"
DT_URL = "https://identity.disruptive-technologies.com/oauth2/token"
OPENAIRE_URL = "https://aai.openaire.eu/oidc/token"
SEED_IAT = 1728466247  # the iat of the grant in the seed question


@pytest.fixture(scope="module")
def seed_grant(fixtures_dir: Path) -> str:
    return (fixtures_dir / "clms_seed_grant.txt").read_text(encoding="ascii").strip()


@pytest.fixture(scope="module")
def rsa_key(keys_dir: Path):
    return load_key(keys_dir / "test-rsa-2048.pkcs8.pem")


@pytest.fixture(scope="module")
def clms_grant(keys_dir: Path, now: int) -> str:
    plan = build_request("clms", environ={}, service_key=str(keys_dir / "test-clms-service-key.json"), now=now)
    assert plan.assertion is not None
    return plan.assertion.jwt


def errors(diagnosis: Diagnosis) -> list[str]:
    return [f.code for f in diagnosis.findings if f.severity == "error"]


# --- the seed's grant ------------------------------------------------------------------------------


def test_seed_grant_is_the_public_one(seed_grant: str, jwt_parts) -> None:
    header, claims, signature = jwt_parts(seed_grant)
    assert header == {"typ": "JWT", "alg": "HS256", "alg.1": "RS256"}
    assert claims["aud"] == CLMS_URL
    assert len(signature) == 32


def test_seed_grant_diagnosis(seed_grant: str) -> None:
    diagnosis = inspect(seed_grant, "clms", now=SEED_IAT + 30)
    assert not diagnosis.ok
    assert errors(diagnosis) == ["duplicate_alg_header", "hmac_instead_of_rsa"]
    by_code = {f.code: f for f in diagnosis.findings}
    duplicate = by_code["duplicate_alg_header"]
    assert "alg.1" in duplicate.message
    assert duplicate.hint and "jwt_encode_hmac" in duplicate.hint
    hmac_finding = by_code["hmac_instead_of_rsa"]
    assert hmac_finding.hint and "RS256" in hmac_finding.hint
    assert "Only RS256 signature algorithm is supported" in hmac_finding.hint
    assert diagnosis.header["alg.1"] == "RS256"
    assert diagnosis.claims["iss"] == "2b8e17fc0d988c5d4f6985e32b7fced4"
    assert diagnosis.claims["sub"] == "n00h7dka"
    text = str(diagnosis)
    assert "duplicate_alg_header" in text and "fix:" in text
    as_dict = diagnosis.to_dict()
    assert as_dict["ok"] is False
    assert [f["code"] for f in as_dict["findings"]] == diagnosis.codes()


def test_seed_grant_today_is_also_expired(seed_grant: str) -> None:
    codes = inspect(seed_grant, "clms").codes()
    assert "expired" in codes
    assert {"duplicate_alg_header", "hmac_instead_of_rsa"} <= set(codes)


def test_seed_grant_without_profile(seed_grant: str) -> None:
    codes = inspect(seed_grant, now=SEED_IAT).codes()
    assert "duplicate_alg_header" in codes
    assert "hmac_instead_of_rsa" not in codes  # without a profile nothing says RS256 is required


# --- a good grant and each defect ------------------------------------------------------------------


def test_correct_clms_grant_has_no_errors(clms_grant: str, rsa_key, now: int) -> None:
    diagnosis = inspect(clms_grant, "clms", now=now + 10, key=rsa_key)
    assert diagnosis.ok
    assert diagnosis.findings == ()
    assert str(diagnosis).endswith("no problems found")
    assert diagnosis.header == {"alg": "RS256", "typ": "JWT"}


def test_wrong_key_is_bad_signature(clms_grant: str, keys_dir: Path, now: int) -> None:
    other = load_key(keys_dir / "test-rsa-2048-other.pkcs8.pem")
    diagnosis = inspect(clms_grant, "clms", now=now, key=other)
    assert errors(diagnosis) == ["bad_signature"]
    tampered = clms_grant[:-6] + ("AAAAAA" if not clms_grant.endswith("AAAAAA") else "BBBBBB")
    right = load_key(keys_dir / "test-rsa-2048.pkcs8.pem")
    assert "bad_signature" in inspect(tampered, "clms", now=now, key=right).codes()


def test_hmac_grant_checked_with_its_secret(hmac_secret: str, now: int) -> None:
    env = {
        "DT_SERVICE_ACCOUNT_KEY_ID": "k",
        "DT_SERVICE_ACCOUNT_SECRET": hmac_secret,
        "DT_SERVICE_ACCOUNT_EMAIL": "a@b.c",
    }
    grant = build_request("disruptive-technologies", environ=env, now=now).request.field("assertion") or ""
    good = inspect(grant, "disruptive-technologies", now=now, key=secret_key(hmac_secret))
    assert good.findings == ()
    bad = inspect(grant, "disruptive-technologies", now=now, key=secret_key("another-secret"))
    assert errors(bad) == ["bad_signature"]


def test_lifetime_over_cap(rsa_key, now: int) -> None:
    grant = make_assertion(rsa_key, issuer="c", subject="u", audience=CLMS_URL, lifetime=7200, now=now).jwt
    diagnosis = inspect(grant, "clms", now=now)
    assert errors(diagnosis) == ["lifetime_exceeded"]
    finding = diagnosis.findings[0]
    assert "7200" in finding.message and "3600" in finding.message


def test_expired_with_leeway(rsa_key, now: int) -> None:
    grant = make_assertion(rsa_key, issuer="c", subject="u", audience=CLMS_URL, lifetime=600, now=now).jwt
    assert "expired" not in inspect(grant, "clms", now=now + 600 + 59).codes()
    late = inspect(grant, "clms", now=now + 600 + 61)
    assert errors(late) == ["expired"]


def test_issued_in_the_future(rsa_key, now: int) -> None:
    grant = make_assertion(rsa_key, issuer="c", subject="u", audience=CLMS_URL, now=now).jwt
    assert errors(inspect(grant, "clms", now=now - 600)) == ["issued_in_future"]
    assert inspect(grant, "clms", now=now - 30).ok


def test_not_yet_valid(rsa_key, now: int) -> None:
    grant = make_assertion(rsa_key, issuer="c", subject="u", audience=CLMS_URL, not_before=True, now=now + 3000).jwt
    codes = inspect(grant, "clms", now=now).codes()
    assert "not_yet_valid" in codes and "issued_in_future" in codes


def test_missing_claims(make_jwt, now: int) -> None:
    diagnosis = inspect(make_jwt({"alg": "RS256"}, {"iss": "c"}), "clms", now=now)
    assert errors(diagnosis) == ["missing_claim"]
    message = diagnosis.findings[0].message
    for claim in ("sub", "aud", "iat", "exp"):
        assert claim in message
    assert "iss" not in message.split(":", 1)[1]


def test_client_assertion_needs_jti_and_sub_equal_iss(make_jwt, now: int) -> None:
    claims = {"iss": "svc", "sub": "someone-else", "aud": OPENAIRE_URL, "iat": now, "exp": now + 300}
    codes = errors(inspect(make_jwt({"alg": "RS256", "kid": "k"}, claims), "openaire", now=now))
    assert codes == ["missing_claim", "subject_mismatch"]


def test_audience_mismatch(rsa_key, now: int) -> None:
    grant = make_assertion(rsa_key, issuer="c", subject="u", audience="https://land.copernicus.eu/", now=now).jwt
    diagnosis = inspect(grant, "clms", now=now)
    assert errors(diagnosis) == ["audience_mismatch"]
    assert CLMS_URL in (diagnosis.findings[0].hint or "")
    # token_url= says which audience is expected; a list audience that holds it is fine.
    assert inspect(grant, "clms", now=now, token_url="https://land.copernicus.eu/").ok
    listed = make_assertion(rsa_key, issuer="c", subject="u", audience=["x", CLMS_URL], now=now).jwt
    assert inspect(listed, "clms", now=now).ok


def test_hmac_sized_signature_labelled_rs256(make_jwt, now: int) -> None:
    claims = {"iss": "c", "sub": "u", "aud": CLMS_URL, "iat": now, "exp": now + 3600}
    diagnosis = inspect(make_jwt({"alg": "RS256", "typ": "JWT"}, claims, b"\x01" * 32), "clms", now=now)
    assert errors(diagnosis) == ["signature_size_mismatch"]
    assert "32 bytes" in diagnosis.findings[0].message
    # And the other way round: an RSA-sized signature labelled HS256.
    hs = inspect(make_jwt({"alg": "HS256"}, claims, b"\x01" * 256), now=now)
    assert "signature_size_mismatch" in hs.codes()


@pytest.mark.parametrize("value", ["", "abc", "a.b", "a.b.c.d", "Bearer", None, b"a.b.c"])
def test_not_a_jwt(value: object) -> None:
    diagnosis = inspect(value)  # type: ignore[arg-type]
    assert diagnosis.codes() == ["not_a_jwt"]
    assert not diagnosis.ok
    assert diagnosis.findings[0].hint


def test_bad_base64(make_jwt, b64url, now: int) -> None:
    claims = b64url(json.dumps({"iss": "c", "aud": "a", "iat": now, "exp": now + 60}).encode())
    assert "invalid_base64" in inspect(f"eyJ+bad.{claims}.c2ln", now=now).codes()
    assert "invalid_base64" in inspect(f"{b64url(b'{}')}.{claims}.c2ln==", now=now).codes()
    assert "invalid_base64" in inspect(f"{b64url(b'{}')}.A.c2ln", now=now).codes()


def test_bad_json(b64url, now: int) -> None:
    good_claims = b64url(json.dumps({"iss": "c", "aud": "a", "iat": now, "exp": now + 60}).encode())
    not_json = inspect(f"{b64url(b'not json')}.{good_claims}.c2ln", now=now)
    assert not_json.codes()[0] == "invalid_json"
    assert "header" in not_json.findings[0].message
    not_object = inspect(f"{b64url(b'{}')}.{b64url(b'[1, 2]')}.c2ln", now=now)
    assert "invalid_json" in not_object.codes()
    bad_utf8 = b64url(bytes([0xFF, 0xFE]))
    not_utf8 = inspect(f"{bad_utf8}.{good_claims}.c2ln", now=now)
    assert "invalid_json" in not_utf8.codes()


def test_alg_problems(make_jwt, now: int) -> None:
    claims = {"iss": "c", "sub": "u", "aud": CLMS_URL, "iat": now, "exp": now + 60}
    assert "unsigned" in inspect(make_jwt({"alg": "none"}, claims, b""), "clms", now=now).codes()
    assert "missing_alg" in inspect(make_jwt({"typ": "JWT"}, claims), "clms", now=now).codes()
    assert errors(inspect(make_jwt({"alg": "ES256"}, claims, b"\x00" * 64), "clms", now=now)) == [
        "algorithm_not_allowed"
    ]
    rs_for_dt = inspect(make_jwt({"alg": "RS256"}, claims), "disruptive-technologies", now=now, token_url=CLMS_URL)
    assert errors(rs_for_dt) == ["algorithm_not_allowed"]


def test_invalid_time_claims(make_jwt, now: int) -> None:
    claims = {"iss": "c", "sub": "u", "aud": CLMS_URL, "iat": "2026-01-01", "exp": now + 1.5}
    codes = errors(inspect(make_jwt({"alg": "RS256"}, claims), "clms", now=now))
    assert codes == ["invalid_claim", "invalid_claim"]
    swapped = {"iss": "c", "sub": "u", "aud": CLMS_URL, "iat": now, "exp": now - 10}
    assert "exp_before_iat" in inspect(make_jwt({"alg": "RS256"}, swapped), "clms", now=now).codes()


def test_unknown_header_member_is_a_warning(make_jwt, now: int) -> None:
    claims = {"iss": "c", "sub": "u", "aud": CLMS_URL, "iat": now, "exp": now + 60}
    diagnosis = inspect(make_jwt({"alg": "RS256", "foo": 1}, claims), "clms", now=now)
    assert diagnosis.codes() == ["unknown_header_member"]
    assert diagnosis.findings[0].severity == "warning"
    assert diagnosis.ok


def test_inspect_unknown_profile(clms_grant: str) -> None:
    with pytest.raises(ConfigError) as info:
        inspect(clms_grant, "no-such-profile")
    assert info.value.code == "unknown_profile"


def test_huge_integer_claims_are_reported_not_raised(make_jwt) -> None:
    diagnosis = inspect(make_jwt({"alg": "RS256"}, {"iss": "c", "aud": "a", "iat": 10**400, "exp": -(10**400)}))
    assert not diagnosis.ok


# --- explain -------------------------------------------------------------------------------------


def test_explain_missing_grant_type_for_clms() -> None:
    result = explain({"error": "invalid_request", "error_description": "Missing 'grant_type'"}, "clms")
    assert isinstance(result, Explanation)
    assert result.code == "body_not_form_encoded"
    assert result.hint and "form-encoded" in result.hint
    assert result.status == 400
    assert result.error == "invalid_request"
    assert result.error_description == "Missing 'grant_type'"
    assert "Missing 'grant_type'" in result.message
    assert str(result).endswith("\nFix: " + result.hint)
    assert result.to_dict() == {
        "code": "body_not_form_encoded",
        "message": result.message,
        "hint": result.hint,
        "status": 400,
        "error": "invalid_request",
        "error_description": "Missing 'grant_type'",
    }


def test_explain_without_profile_uses_the_generic_hint() -> None:
    result = explain({"error": "invalid_request", "error_description": "Missing 'grant_type'"})
    assert result.code == "invalid_request"
    assert result.hint and "form-encoded" in result.hint


def test_explain_only_rs256_as_json_text() -> None:
    body = '{"error": "invalid_request", "error_description": "Only RS256 signature algorithm is supported"}'
    result = explain(body, "clms")
    assert result.code == "wrong_signature_algorithm"
    assert result.hint and "jwt_encode_hmac" in result.hint
    assert explain(body.encode(), "clms").code == "wrong_signature_algorithm"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (
            {"error": "invalid_grant", "error_description": "Timing-related error. Check the 'exp' and 'iat' claims."},
            "assertion_timing",
        ),
        (
            {"error": "invalid_grant", "error_description": "Untrusted entity. Check the 'aud' and 'iss' claims."},
            "untrusted_entity",
        ),
        ({"error": "invalid_grant", "error_description": "Invalid signature"}, "invalid_signature"),
        ({"error": "unsupported_grant_type"}, "body_not_form_encoded"),
        ({"error": "invalid_grant"}, "grant_refused"),
    ],
)
def test_explain_dt_errors(body: dict, code: str) -> None:
    result = explain(body, "disruptive-technologies")
    assert result.code == code
    assert result.hint
    assert result.error == body["error"]


def test_explain_climate_engine_status() -> None:
    assert explain({"detail": "Unauthorized"}, "climate-engine", status=401).code == "credentials_rejected"
    assert explain({"detail": "Unauthorized"}, "climate-engine", status=403).code == "invalid_response"


def test_explain_token_endpoint_error_passes_through() -> None:
    err = error_from_response(401, b'{"error":"invalid_client","error_description":"bad"}', "application/json")
    plain = explain(err)
    assert plain.code == "invalid_client"
    assert plain.message == err.message
    assert plain.hint == err.hint
    assert plain.status == 401
    with_profile = explain(err, "openaire")
    assert with_profile.code == "client_rejected"
    assert with_profile.hint and "kid" in with_profile.hint
    err.provider_code = "client_rejected"
    assert explain(err).code == "client_rejected"


def test_explain_config_error() -> None:
    err = ConfigError("boom", code="key_password_required", hint="pass key_password=")
    result = explain(err, "clms")
    assert (result.code, result.message, result.hint) == ("key_password_required", "boom", "pass key_password=")


def test_explain_requests_response_built_by_hand() -> None:
    response = requests.models.Response()
    response.status_code = 400
    response._content = b'{"error": "invalid_request", "error_description": "Missing \'grant_type\'"}'
    response.headers["Content-Type"] = "application/json"
    result = explain(response, "clms")
    assert result.code == "body_not_form_encoded"
    assert result.status == 400
    html = requests.models.Response()
    html.status_code = 502
    html._content = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
    html.headers["Content-Type"] = "text/html"
    result = explain(html, "clms")
    assert result.code == "server_error"
    assert "<h1>" not in result.message


def test_explain_redacts_echoed_tokens() -> None:
    secret = "rt-" + "Q" * 40
    result = explain({"error": "invalid_grant", "error_description": f"token {secret} expired"}, "openaire")
    assert secret not in result.message
    assert secret not in (result.error_description or "")
    assert result.code == "refresh_token_rejected"


def test_explain_plain_text_body() -> None:
    result = explain("Service Unavailable", status=503)
    assert result.code == "server_error"
    assert result.status == 503


@pytest.mark.parametrize("value", [None, 42, [1, 2], 3.5])
def test_explain_unsupported_values_raise_m2mauth_errors(value: object) -> None:
    from m2mauth import M2MAuthError

    with pytest.raises(M2MAuthError):
        explain(value)


def test_explain_raises_on_unsupported_profile() -> None:
    with pytest.raises(ConfigError):
        explain({"error": "invalid_grant"}, "nope")


def test_token_endpoint_error_is_an_m2mauth_error() -> None:
    assert issubclass(TokenEndpointError, Exception)
    err = error_from_response(400, b'{"error":"invalid_grant"}')
    assert isinstance(err, TokenEndpointError)


# --- a 405 is about the URL and the method, not the body (issue 8, part 11) ------------------------


def test_explain_405_from_a_real_server_is_not_a_body_encoding_problem() -> None:
    from m2mauth.testing import LocalProvider

    with LocalProvider() as provider:
        # GET where the endpoint takes POST: the local server answers like the real one, with an
        # RFC 6749 body whose error (invalid_request) usually means a badly encoded body.
        answer = requests.get(provider.token_url("clms"), timeout=10)
        assert answer.status_code == 405 and answer.json()["error"] == "invalid_request"
        for profile in (None, "clms", "openaire"):
            result = explain(answer, profile)
            assert result.status == 405
            assert result.hint and "405" in result.hint and "token_url=" in result.hint, (profile, result.hint)
            assert "JSON" not in result.hint and "form-encoded" not in result.hint, (profile, result.hint)


def test_openaire_refresh_token_sent_to_the_service_endpoint_names_the_refresh_endpoint() -> None:
    from m2mauth import TokenEndpointError, fetch_token
    from m2mauth.testing import LocalProvider

    with LocalProvider() as provider:
        refresh = provider.issue_refresh_token("openaire")
        with pytest.raises(TokenEndpointError) as caught:
            fetch_token("openaire", refresh_token=refresh, token_url=provider.token_url("openaire"))
        error = caught.value
        assert error.status == 405
        assert error.hint and "getAccessToken" in error.hint and "JSON" not in error.hint
        assert "JSON" not in (explain(error, "openaire").hint or "")
        assert provider.refresh_token_accepted("openaire", refresh)  # nothing was spent
