"""RFC 8693 token exchange in the pure layer: the request builder, the planning of the flow, the
reading of the answer, and when a subject token counts as expired."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from m2mauth import grants
from m2mauth.client_auth import ClientAuth
from m2mauth.errors import ConfigError, TokenEndpointError
from m2mauth.flows import plan_request
from m2mauth.jws import b64url_encode
from m2mauth.stores import token_from_record, token_to_record
from m2mauth.token_exchange import check_subject_token, subject_token_refused
from m2mauth.tokens import error_from_response, parse_token_response

URL = "https://aai.example/token"
EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS = "urn:ietf:params:oauth:token-type:access_token"
KEYS = Path(__file__).resolve().parents[2] / "spec" / "keys"


def unsigned_jwt(claims: dict[str, Any]) -> str:
    def part(data: dict[str, Any]) -> str:
        return b64url_encode(json.dumps(data).encode())

    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.c2ln"


def test_builder_field_order_and_defaults() -> None:
    request = grants.token_exchange(
        URL, "subject-secret-value", audience="svc", resource="https://api.example/",
        requested_token_type=ACCESS, scope="openid",
        client_auth=ClientAuth("client_secret_post", "me", "pw"),
    )
    assert [name for name, _ in request.form] == [
        "grant_type", "subject_token", "subject_token_type", "resource", "audience", "requested_token_type",
        "scope", "client_id", "client_secret",
    ]
    assert request.field("grant_type") == EXCHANGE and request.field("subject_token_type") == ACCESS
    assert "subject-secret-value" not in repr(request)
    assert request.redacted()["form"][1] == ["subject_token", "<redacted>"]


def test_builder_leaves_out_what_is_not_given() -> None:
    request = grants.token_exchange(URL, "subj", subject_token_type="urn:ietf:params:oauth:token-type:jwt")
    assert request.form == (
        ("grant_type", EXCHANGE), ("subject_token", "subj"),
        ("subject_token_type", "urn:ietf:params:oauth:token-type:jwt"),
    )


@pytest.mark.parametrize("given", [{"subject_token": ""}, {"subject_token": "x", "subject_token_type": ""}])
def test_builder_refuses_empty_values(given: dict[str, str]) -> None:
    with pytest.raises(ConfigError) as caught:
        grants.token_exchange(URL, **given)
    assert caught.value.hint and "subject_token" in caught.value.hint


def test_generic_plan_picks_token_exchange_from_the_credentials() -> None:
    plan = plan_request("generic", subject_token="subj", client_id="me", client_secret="pw", token_url=URL)
    assert plan.flow.name == "token_exchange" and plan.auth_method == "client_secret_basic"
    assert plan.request.header("Authorization")


def test_egi_plan_signs_a_client_assertion_with_a_key() -> None:
    plan = plan_request(
        "egi-checkin", subject_token="subj", audience="svc", client_id="me",
        private_key=str(KEYS / "test-rsa-2048.pkcs8.pem"), now=1_700_000_000, jti_source=lambda: "j1",
    )
    assert plan.auth_method == "private_key_jwt" and plan.request.field("audience") == "svc"
    assert plan.token_url == "https://aai.egi.eu/auth/realms/egi/protocol/openid-connect/token"


def test_expired_jwt_subject_token_is_refused_before_sending() -> None:
    subject = unsigned_jwt({"sub": "u", "exp": 1_700_000_000})
    with pytest.raises(ConfigError) as caught:
        plan_request("generic", subject_token=subject, token_url=URL, now=1_700_000_000)
    assert caught.value.code == "subject_token_expired"
    assert subject not in str(caught.value)
    plan_request("generic", subject_token=subject, token_url=URL, now=1_699_999_999)  # one second before: fine
    check_subject_token("opaque-token", 2e9)  # not a JWT: only the server can tell


@pytest.mark.parametrize(
    ("error", "description", "recoded"),
    [
        ("invalid_grant", "whatever", True),
        ("invalid_token", "Invalid token", True),
        ("invalid_request", "subject_token is expired", True),
        ("invalid_token", "Token is not active", True),
        ("invalid_request", "missing parameter", False),
        ("invalid_client", "audience not found", False),
        ("invalid_target", "audience is not a registered client", False),
    ],
)
def test_server_refusals_of_the_subject_token(error: str, description: str, recoded: bool) -> None:
    body = json.dumps({"error": error, "error_description": description})
    refused = subject_token_refused(error_from_response(400, body, "application/json"))
    assert isinstance(refused, TokenEndpointError)
    assert (refused.code == "subject_token_expired") is recoded
    assert refused.error == error


def test_issued_token_type_is_read_and_survives_a_store_record() -> None:
    answer = {"access_token": "a" * 30, "token_type": "Bearer", "expires_in": 60, "issued_token_type": ACCESS}
    token = parse_token_response(200, json.dumps(answer), "application/json", now=1000)
    assert token.issued_token_type == ACCESS
    assert token.to_dict()["issued_token_type"] == ACCESS
    again = token_from_record(json.loads(json.dumps(token_to_record(token))))
    assert again is not None and again.issued_token_type == ACCESS
    plain = parse_token_response(200, json.dumps({"access_token": "b" * 30}), "application/json", now=1000)
    assert plain.issued_token_type is None and "issued_token_type" not in token_to_record(plain)


def test_doctor_subject_token_line() -> None:
    from m2mauth.credentials import resolve_credentials
    from m2mauth.doctor.exchange import flow_checks
    from m2mauth.profiles import load_profile

    prof = load_profile("egi-checkin")
    flow = prof.flow("token_exchange")

    def line(subject: str, now: float) -> Any:
        creds = resolve_credentials(prof, {"subject_token": subject, "client_id": "me"}, {})
        (check,) = flow_checks(prof, flow, creds, lambda: now)
        return check

    expired = line(unsigned_jwt({"exp": 1000}), 1000)
    assert expired.status == "fail" and expired.codes == ("subject_token_expired",)
    assert line(unsigned_jwt({"exp": 1100}), 1000).status == "warn"
    assert line(unsigned_jwt({"exp": 5000}), 1000).status == "ok"
    assert line("opaque", 1000).status == "skip"
