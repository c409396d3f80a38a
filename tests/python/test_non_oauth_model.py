"""Issue 12's model: request shapes, response mapping and presentation, pure, without a server."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timezone
from typing import Any

import pytest

import m2mauth
from m2mauth.jws import compact
from m2mauth.keys import secret_key
from m2mauth.presentation import ExpirySignal, Presentation, sent_token
from m2mauth.profiles import load_profile
from m2mauth.request_shapes import basic_login, json_login, logout_request
from m2mauth.response_mapping import ResponseMapping, parse_expiry, parse_mapped_response, token_as_given
from m2mauth.stores import token_from_record, token_to_record
from m2mauth.tokens import Token

NOW = 1_750_000_000.0  # 2025-06-15T15:06:40Z
USGS = ResponseMapping(token="data", lifetime=7200, error_code="errorCode", error_message="errorMessage")
EDL = ResponseMapping(expires="expiration_date", expires_format="%m/%d/%Y")


def test_json_login_sends_the_named_fields_in_order_as_one_json_object() -> None:
    request = json_login("https://m2m.example/login-token", [("username", "ana"), ("token", 'é"x')])
    assert request.headers == (("Accept", "application/json"), ("Content-Type", "application/json"))
    assert request.body == '{"username":"ana","token":"\\u00e9\\"x"}'
    assert json.loads(request.body) == {"username": "ana", "token": 'é"x'}
    assert request.to_dict()["encoding"] == "json"
    assert "é" not in repr(request) and request.redacted()["form"][1] == ["token", "<redacted>"]


def test_basic_login_has_no_body_and_raw_utf8_credentials() -> None:
    request = basic_login("https://urs.example/find_or_create_token", "ana", "p:%+é")
    value = request.header("Authorization")
    assert value is not None and value.startswith("Basic ")
    assert base64.b64decode(value[6:]) == "ana:p:%+é".encode()  # not form-encoded: a user login
    assert request.body == "" and request.form == () and request.to_dict()["encoding"] == "none"
    assert request.redacted()["headers"][1] == ["Authorization", "<redacted>"]


def test_basic_login_refuses_a_colon_in_the_username() -> None:
    with pytest.raises(m2mauth.ConfigError) as caught:
        basic_login("https://urs.example/t", "a:b", "pw")
    assert caught.value.code == "invalid_credential" and "pw" not in str(caught.value)


def test_oauth_requests_serialise_as_before_without_an_encoding_member() -> None:
    plan = m2mauth.build_request("generic", token_url="https://as.example/token", client_id="c", client_secret="s")
    assert "encoding" not in plan.request.to_dict()
    assert plan.request.body == "grant_type=client_credentials"


def test_logout_request_presents_the_key_in_the_apis_header() -> None:
    request = logout_request("https://m2m.example/logout", "X-Auth-Token", "key123")
    assert request.headers == (("Accept", "application/json"), ("X-Auth-Token", "key123"))
    assert request.body == "" and "key123" not in str(request.redacted())


def test_usgs_envelope_is_read_with_a_fixed_lifetime() -> None:
    body = json.dumps({"requestId": 1, "data": "apikey", "errorCode": None, "errorMessage": None})
    token = parse_mapped_response(USGS, 200, body, "application/json", now=NOW)
    assert token.access_token == "apikey"
    assert token.expires_at == datetime.fromtimestamp(NOW + 7200, tz=timezone.utc)
    assert "data" not in token.raw and token.raw["requestId"] == 1


def test_usgs_error_envelope_is_a_typed_error_without_secrets() -> None:
    body = json.dumps(
        {"data": None, "errorCode": "AUTH_INVALID", "errorMessage": "User credential verification failed"}
    )
    with pytest.raises(m2mauth.TokenEndpointError) as caught:
        parse_mapped_response(USGS, 200, body, "application/json", now=NOW)
    error = caught.value
    assert (error.code, error.error, error.error_description) == (
        "token_endpoint_error",
        "AUTH_INVALID",
        "User credential verification failed",
    )
    assert error.hint


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("06/16/2025", datetime(2025, 6, 16, tzinfo=timezone.utc).timestamp()),  # tomorrow: its start
        ("06/15/2025", datetime(2025, 6, 16, tzinfo=timezone.utc).timestamp()),  # today, handed out: its end
        ("6/30/2025", datetime(2025, 6, 30, tzinfo=timezone.utc).timestamp()),
        ("2025-06-30", None),  # not the format
        (20250630, None),
    ],
)
def test_a_day_granular_expiry_is_the_start_of_the_day_utc(value: Any, expected: float | None) -> None:
    assert parse_expiry(value, "%m/%d/%Y", NOW) == expected


def test_a_date_time_expiry_keeps_its_time_and_zone() -> None:
    assert (
        parse_expiry("2025-06-16T10:00:00+0200", "%Y-%m-%dT%H:%M:%S%z", NOW)
        == datetime(2025, 6, 16, 8, tzinfo=timezone.utc).timestamp()
    )
    assert (
        parse_expiry("2025-06-16 10:00:00", "%Y-%m-%d %H:%M:%S", NOW)
        == datetime(2025, 6, 16, 10, tzinfo=timezone.utc).timestamp()
    )


def test_edl_answer_gives_a_bearer_token_expiring_at_the_start_of_its_day() -> None:
    body = json.dumps({"access_token": "eyJ.x.y", "token_type": "Bearer", "expiration_date": "08/14/2025"})
    token = parse_mapped_response(EDL, 200, body, "application/json", now=NOW)
    assert token.authorization == "Bearer eyJ.x.y"
    assert token.expires_at == datetime(2025, 8, 14, tzinfo=timezone.utc)


def test_a_failed_edl_answer_keeps_its_rfc_shaped_error() -> None:
    body = json.dumps({"error": "invalid_credentials", "error_description": "Invalid user credentials"})
    with pytest.raises(m2mauth.TokenEndpointError) as caught:
        parse_mapped_response(EDL, 401, body, "application/json", now=NOW)
    assert caught.value.status == 401 and caught.value.error == "invalid_credentials"


def test_a_non_json_answer_is_the_usual_invalid_response() -> None:
    with pytest.raises(m2mauth.TokenEndpointError) as caught:
        parse_mapped_response(USGS, 502, "<html>bad gateway</html>", "text/html", now=NOW)
    assert caught.value.code == "server_error"


def test_presentation_puts_the_bare_key_in_its_own_header_and_survives_the_store() -> None:
    usgs = Presentation(header="X-Auth-Token", scheme="")
    token = usgs.apply(Token("apikey", issued_at=datetime.fromtimestamp(NOW, tz=timezone.utc)))
    assert (token.header_name, token.authorization) == ("X-Auth-Token", "apikey")
    again = token_from_record(json.loads(json.dumps(token_to_record(token))))
    assert again is not None and (again.header_name, again.authorization) == ("X-Auth-Token", "apikey")
    # The default changes nothing, and an OAuth record is written exactly as before.
    plain = Token("at")
    assert Presentation().apply(plain) is plain and "header_name" not in token_to_record(plain)
    assert token_from_record({"access_token": "at", "token_type": ""}).authorization == "Bearer at"  # type: ignore[union-attr]


def test_sent_token_reads_back_what_was_presented() -> None:
    assert sent_token("Bearer abc", scheme_used=True) == "abc"
    assert sent_token("abc", scheme_used=False) == "abc"
    assert sent_token("", scheme_used=False) is None


def test_the_expiry_signal_matches_only_its_json_member() -> None:
    signal = ExpirySignal("errorCode", ("AUTH_EXPIRED",))
    assert signal.matches('{"errorCode": "AUTH_EXPIRED", "data": null}', "application/json")
    assert not signal.matches('{"errorCode": "AUTH_INVALID"}', "application/json")
    assert not signal.matches("AUTH_EXPIRED", "text/plain")
    assert not signal.matches("{not json", "application/json")


def test_a_ready_token_takes_its_expiry_from_the_jwt_and_is_refused_when_expired() -> None:
    key = secret_key(b"k" * 32)
    fresh = compact({"alg": "HS256", "typ": "JWT"}, {"iat": int(NOW) - 60, "exp": int(NOW) + 3600}, key)
    token = token_as_given(fresh, now=NOW)
    assert token.expires_at == datetime.fromtimestamp(int(NOW) + 3600, tz=timezone.utc) and token.lifetime == 3660
    stale = compact({"alg": "HS256", "typ": "JWT"}, {"exp": int(NOW) - 1}, key)
    with pytest.raises(m2mauth.ConfigError) as caught:
        token_as_given(stale, now=NOW, source="EARTHDATA_TOKEN")
    assert (
        caught.value.code == "token_expired"
        and "EARTHDATA_TOKEN" in str(caught.value)
        and stale not in str(caught.value)
    )
    assert token_as_given("opaque", now=NOW).expires_at is None


def test_the_shipped_profiles_describe_the_model() -> None:
    usgs = load_profile("usgs-m2m").flows[0]
    assert usgs.request is not None and usgs.request.fields == (
        ("username", "username"),
        ("token", "application_token"),
    )
    assert usgs.presentation.header == "X-Auth-Token" and usgs.presentation.expired is not None
    edl = load_profile("earthdata")
    assert edl.credential_file is not None and edl.credential_file.machine == "urs.earthdata.nasa.gov"
    assert [f.grant for f in edl.flows] == ["provider_login", "ready_token"]


def test_usgs_refuses_password_with_the_application_token_hint() -> None:
    with pytest.raises(m2mauth.ConfigError) as caught:
        m2mauth.build_request("usgs-m2m", username="ana", password="secret-pw")
    assert caught.value.code == "password_login_retired"
    assert "application token" in (caught.value.hint or "") and "secret-pw" not in str(caught.value)


def test_a_ready_token_flow_has_no_request_to_build() -> None:
    with pytest.raises(m2mauth.ConfigError) as caught:
        m2mauth.build_request("earthdata", access_token="abc", environ={})
    assert caught.value.code == "no_token_request"


def test_close_with_logout_on_a_profile_without_a_logout_endpoint_says_so_and_forgets_nothing() -> None:
    store = m2mauth.MemoryStore()
    source = m2mauth.TokenSource("climate-engine", client_id="c", client_secret="s" * 16, store=store)
    store.put(source.key, Token("kept-token", expires_at=4_102_444_800.0))
    with pytest.raises(m2mauth.ConfigError) as caught:
        source.close(logout=True)
    assert caught.value.code == "no_logout_endpoint"
    assert "usgs-m2m" in (caught.value.hint or "")
    assert store.get(source.key) is not None  # the mistaken call lost nothing
    assert source.close() is False  # without logout= nothing is sent or forgotten
