"""EGI Check-in and RFC 8693 token exchange against the local emulation (m2mauth.testing, _egi.py).

Real HTTP over loopback to a LocalProvider whose EGI realm checks the requests itself (PyJWT for
client assertions, its own token registry for subject tokens). Endpoints are found by OIDC
discovery from the issuer, as with the real https://aai.egi.eu/auth/realms/egi. Expiry is
tested by moving a FakeClock shared by the provider and the client, never by sleeping.
"""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

import m2mauth
from m2mauth import FileStore, TokenSource
from m2mauth.keys import load_key
from m2mauth.testing import LocalProvider

try:
    from .conftest_lifecycle import HTTP_TIMEOUT, PYTHON_DIR, FakeClock, ProviderFactory, lifecycle_provider
except ImportError:
    from conftest_lifecycle import HTTP_TIMEOUT, PYTHON_DIR, FakeClock, ProviderFactory, lifecycle_provider

__all__ = ["lifecycle_provider"]

EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
REFRESH_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:refresh_token"
METHODS = ("client_secret_basic", "client_secret_post", "client_secret_jwt", "private_key_jwt")
CLI_TIMEOUT = 60


class Realm:
    """Two Check-in clients: A (whose token is the subject token) and B (which exchanges it),
    each with a secret and a key pair generated here."""

    def __init__(self, provider: LocalProvider, tmp_path: Path) -> None:
        self.provider = provider
        self.issuer = provider.issuer_url("egi-checkin")
        self.keys: dict[str, Path] = {}
        for client in ("client-a", "client-b"):
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            path = tmp_path / f"{client}.pem"
            path.write_bytes(
                key.private_bytes(
                    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
                )
            )
            self.keys[client] = path
            jwk = load_key(str(path), kid=f"{client}-key").public_jwk()
            provider.add_client("egi-checkin", client, f"{client}-secret:%+é", public_jwk=jwk)

    def credentials(self, client: str, method: str) -> dict[str, Any]:
        creds: dict[str, Any] = {"issuer": self.issuer, "client_id": client, "auth_method": method}
        if method == "private_key_jwt":
            creds.update(private_key=str(self.keys[client]), key_id=f"{client}-key")
        else:
            creds["client_secret"] = f"{client}-secret:%+é"
        return creds

    def subject_token(self, **options: Any) -> m2mauth.Token:
        return m2mauth.fetch_token(
            "egi-checkin", scope="openid profile email", **self.credentials("client-a", "client_secret_basic"),
            **options,
        )


@pytest.fixture()
def provider() -> Iterator[LocalProvider]:
    with LocalProvider(token_lifetime=3599) as running:
        yield running


@pytest.fixture()
def realm(provider: LocalProvider, tmp_path: Path) -> Realm:
    return Realm(provider, tmp_path)


def resource(provider: LocalProvider, token: m2mauth.Token) -> dict[str, Any]:
    answer = requests.get(provider.resource_url, headers={"Authorization": token.authorization}, timeout=HTTP_TIMEOUT)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def exchanges(provider: LocalProvider) -> list[Any]:
    return [r for r in provider.requests_log if r.field("grant_type") == EXCHANGE_GRANT]


@pytest.mark.parametrize("method", METHODS)
def test_client_credentials_with_each_method(realm: Realm, method: str) -> None:
    token = m2mauth.fetch_token("egi-checkin", **realm.credentials("client-a", method))
    assert resource(realm.provider, token)["profile"] == "egi-checkin"
    claims = jwt.decode(token.access_token, options={"verify_signature": False})
    assert claims["client_id"] == "client-a" and claims["sub"].endswith("@egi.eu")
    (sent,) = [r for r in realm.provider.requests_log if r.token_endpoint]
    assert sent.path == "/auth/realms/egi/protocol/openid-connect/token"
    assert sent.field("grant_type") == "client_credentials"


def test_a_key_without_a_secret_picks_private_key_jwt(realm: Realm) -> None:
    creds = realm.credentials("client-a", "private_key_jwt")
    del creds["auth_method"]
    token = m2mauth.fetch_token("egi-checkin", **creds)
    assert realm.provider.requests_log[-1].field("client_assertion_type") is not None
    resource(realm.provider, token)


@pytest.mark.parametrize("method", METHODS)
def test_token_exchange_with_each_method(realm: Realm, method: str) -> None:
    subject = realm.subject_token()
    token = m2mauth.fetch_token(
        "egi-checkin", subject_token=subject.access_token, audience="client-b", scope="openid profile",
        **realm.credentials("client-b", method),
    )
    assert token.issued_token_type == ACCESS_TOKEN_TYPE
    assert token.access_token != subject.access_token
    claims = jwt.decode(token.access_token, options={"verify_signature": False})
    assert claims["client_id"] == "client-b"
    assert claims["sub"] == jwt.decode(subject.access_token, options={"verify_signature": False})["sub"]
    assert token.scope == "openid profile"
    resource(realm.provider, token)
    (sent,) = exchanges(realm.provider)
    assert sent.field("subject_token_type") == ACCESS_TOKEN_TYPE
    assert sent.field("audience") == "client-b"
    assert sent.field("subject_token") != subject.access_token  # the log redacts it


def test_token_exchange_named_as_in_the_issue(realm: Realm) -> None:
    subject = realm.subject_token()
    token = m2mauth.fetch_token(
        "egi-checkin", flow="token_exchange", subject_token=subject.access_token, audience="client-b",
        client_id="client-b", client_secret="client-b-secret:%+é", issuer=realm.issuer,
    )
    resource(realm.provider, token)


def test_requested_refresh_token_type(realm: Realm) -> None:
    subject = realm.subject_token()
    token = m2mauth.fetch_token(
        "egi-checkin", subject_token=subject.access_token, requested_token_type=REFRESH_TOKEN_TYPE,
        **realm.credentials("client-b", "client_secret_post"),
    )
    assert token.issued_token_type == REFRESH_TOKEN_TYPE
    assert token.refresh_token
    assert exchanges(realm.provider)[0].field("requested_token_type") == REFRESH_TOKEN_TYPE


def test_unknown_audience_gets_checkins_hint(realm: Realm) -> None:
    subject = realm.subject_token()
    with pytest.raises(m2mauth.TokenEndpointError) as caught:
        m2mauth.fetch_token(
            "egi-checkin", subject_token=subject.access_token, audience="https://my-service.example",
            **realm.credentials("client-b", "client_secret_basic"),
        )
    error = caught.value
    assert error.code == "invalid_client" and error.error_description == "audience not found"
    assert error.provider_code == "audience_not_found"
    assert error.hint and "client ID of a client registered in Check-in" in error.hint
    assert subject.access_token not in str(error) and "client-b-secret" not in str(error)


def test_scope_beyond_the_subject_token_is_refused(realm: Realm) -> None:
    subject = realm.subject_token()
    with pytest.raises(m2mauth.TokenEndpointError) as caught:
        m2mauth.fetch_token(
            "egi-checkin", subject_token=subject.access_token, scope="openid eduperson_entitlement",
            **realm.credentials("client-b", "client_secret_basic"),
        )
    assert caught.value.code == "invalid_scope"


def test_unknown_subject_token_is_subject_token_expired(realm: Realm) -> None:
    with pytest.raises(m2mauth.TokenEndpointError) as caught:
        m2mauth.fetch_token(
            "egi-checkin", subject_token="not-a-token-this-realm-issued",
            **realm.credentials("client-b", "client_secret_basic"),
        )
    error = caught.value
    assert error.code == "subject_token_expired" and error.error == "invalid_token"
    assert error.hint and "subject_token=" in error.hint


def test_refresh_needs_secret_and_openid(realm: Realm) -> None:
    refresh = realm.provider.issue_refresh_token("egi-checkin", "client-a")
    creds = realm.credentials("client-a", "client_secret_basic")
    del creds["auth_method"]
    token = m2mauth.fetch_token("egi-checkin", refresh_token=refresh, **creds)
    assert realm.provider.requests_log[-1].field("scope") == "openid"  # the profile's default
    resource(realm.provider, token)
    with pytest.raises(m2mauth.TokenEndpointError) as caught:
        m2mauth.fetch_token("egi-checkin", refresh_token=refresh, scope="email", **creds)
    assert caught.value.code == "invalid_scope" and caught.value.provider_code == "scope_rejected"
    assert caught.value.hint and "openid" in caught.value.hint


def test_device_login_then_token_source(realm: Realm, tmp_path: Path) -> None:
    provider = realm.provider
    store = FileStore(tmp_path / "store")
    done = threading.Event()

    def prompt(authorization: Any) -> None:
        def approve() -> None:
            try:
                requests.post(
                    f"{provider.base_url}/device/approve",
                    data={"user_code": authorization.user_code},
                    timeout=HTTP_TIMEOUT,
                )
            finally:
                done.set()

        threading.Thread(target=approve, daemon=True).start()

    def sleep(seconds: float) -> None:
        assert done.wait(timeout=20), "the approval did not arrive"

    creds = {"issuer": realm.issuer, "client_id": "client-a", "client_secret": "client-a-secret:%+é"}
    token = m2mauth.login("egi-checkin", prompt=prompt, sleep=sleep, progress=io.StringIO(), store=store, **creds)
    assert token.refresh_token
    device_request = next(r for r in provider.requests_log if r.path.endswith("/auth/device"))
    assert device_request.field("scope") == "openid offline_access"
    assert device_request.header("Authorization") is None and device_request.field("client_secret")
    resource(provider, token)
    # Later runs name the device flow: the stored login's refresh token renews (with scope openid).
    source = TokenSource("egi-checkin", flow="device_code", store=store, **creds)
    renewed = source.token(force=True)
    assert renewed.access_token != token.access_token
    last = [r for r in provider.requests_log if r.token_endpoint][-1]
    assert last.field("grant_type") == "refresh_token" and last.field("scope") == "openid"
    resource(provider, renewed)


def test_confidential_client_must_authenticate_at_the_device_endpoint(realm: Realm) -> None:
    answer = requests.post(
        realm.provider.device_authorization_url("egi-checkin"), data={"client_id": "client-a"}, timeout=HTTP_TIMEOUT
    )
    assert answer.status_code == 401 and answer.json()["error"] == "invalid_client"


def test_discovery_names_token_and_device_endpoints(realm: Realm) -> None:
    metadata = requests.get(realm.provider.discovery_url("egi-checkin"), timeout=HTTP_TIMEOUT).json()
    assert metadata["issuer"] == realm.issuer
    assert metadata["token_endpoint"] == realm.issuer + "/protocol/openid-connect/token"
    assert metadata["device_authorization_endpoint"] == realm.issuer + "/protocol/openid-connect/auth/device"
    assert EXCHANGE_GRANT in metadata["grant_types_supported"]


# -- renewal: the exchange is repeated while the subject token is valid ---------------------------


def exchange_source(realm: Realm, clock: FakeClock, subject: str, **options: Any) -> TokenSource:
    return TokenSource(
        "egi-checkin", subject_token=subject, audience="client-b", clock=clock,
        **realm.credentials("client-b", "client_secret_basic"), **options,
    )


def test_auth_renews_by_exchange_while_the_subject_is_valid_then_says_it_expired(
    lifecycle_provider: ProviderFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    provider = lifecycle_provider(token_lifetime=600, clock=clock)
    realm = Realm(provider, tmp_path)
    subject = realm.subject_token(clock=clock)
    source = exchange_source(realm, clock, subject.access_token)
    auth = m2mauth.Auth(source=source)

    first = source.token()
    assert len(exchanges(provider)) == 1
    assert requests.get(provider.resource_url, auth=auth, timeout=HTTP_TIMEOUT).ok
    clock.advance(300)  # both tokens are half-way: no request
    assert source.token() is first and len(exchanges(provider)) == 1

    clock.advance(250)  # inside the refresh margin: the exchange is repeated with the same subject token
    second = source.token()
    assert second.access_token != first.access_token and len(exchanges(provider)) == 2
    grants = [r.field("grant_type") for r in provider.requests_log if r.token_endpoint]
    assert grants == ["client_credentials", EXCHANGE_GRANT, EXCHANGE_GRANT]  # never a refresh
    assert requests.get(provider.resource_url, auth=auth, timeout=HTTP_TIMEOUT).ok

    clock.advance(560)  # the subject token (exp at 600) has expired; the exchanged one is stale, still valid
    with caplog.at_level(logging.WARNING, logger="m2mauth"):
        assert source.token() is second
    assert "subject token can no longer be exchanged" in caplog.text
    assert len(exchanges(provider)) == 2  # its JWT exp said so: nothing was sent

    clock.advance(60)  # now the exchanged token has expired too
    with pytest.raises(m2mauth.ConfigError) as caught:
        source.token()
    assert caught.value.code == "subject_token_expired"
    assert caught.value.hint and "subject_token=" in caught.value.hint
    assert subject.access_token not in str(caught.value)
    with pytest.raises(m2mauth.M2MAuthError) as again:
        requests.get(provider.resource_url, auth=auth, timeout=HTTP_TIMEOUT)
    assert again.value.code == "subject_token_expired"


def test_server_refusal_of_the_subject_token_is_subject_token_expired(
    lifecycle_provider: ProviderFactory, tmp_path: Path
) -> None:
    server_clock = FakeClock()
    client_clock = FakeClock(server_clock.now)
    provider = lifecycle_provider(token_lifetime=600, clock=server_clock)
    realm = Realm(provider, tmp_path)
    subject = realm.subject_token(clock=client_clock)
    source = exchange_source(realm, client_clock, subject.access_token)
    source.token()
    # The server sees the subject token expired; by the client's (slow) clock its exp is still ahead,
    # so the exchange is sent and refused.
    server_clock.advance(700)
    client_clock.advance(599)
    with pytest.raises(m2mauth.TokenEndpointError) as caught:
        source.token(force=True)
    assert caught.value.code == "subject_token_expired" and caught.value.error == "invalid_token"
    assert len(exchanges(provider)) == 2


def test_issued_token_type_survives_a_file_store_across_processes(realm: Realm, tmp_path: Path) -> None:
    subject = realm.subject_token()
    store_dir = tmp_path / "store"
    source = TokenSource(
        "egi-checkin", subject_token=subject.access_token, audience="client-b", store=FileStore(store_dir),
        **realm.credentials("client-b", "client_secret_post"),
    )
    assert source.token().issued_token_type == ACCESS_TOKEN_TYPE
    code = (
        "import json, sys, m2mauth\n"
        "a = json.loads(sys.stdin.read())\n"
        "s = m2mauth.TokenSource('egi-checkin', store=m2mauth.FileStore(a.pop('store')), **a)\n"
        "t = s.token()\n"
        "print(json.dumps([t.issued_token_type, s.requests_made]))\n"
    )
    given = {
        "store": str(store_dir), "subject_token": subject.access_token, "audience": "client-b",
        **realm.credentials("client-b", "client_secret_post"),
    }
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PYTHON_DIR), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [sys.executable, "-c", code], input=json.dumps(given), capture_output=True, text=True, timeout=CLI_TIMEOUT,
        env=env, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [ACCESS_TOKEN_TYPE, 0]  # read from the store: no second exchange
    assert len(exchanges(realm.provider)) == 1


# -- the command line ----------------------------------------------------------------------------


def run_cli(args: list[str], stdin: str, extra_env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PYTHON_DIR), os.environ.get("PYTHONPATH", "")])}
    env.update(extra_env)
    return subprocess.run(
        [sys.executable, "-m", "m2mauth", *args], input=stdin, capture_output=True, text=True, timeout=CLI_TIMEOUT,
        env=env, check=False,
    )


def test_cli_token_exchange_reads_the_subject_token_from_stdin(realm: Realm, tmp_path: Path) -> None:
    subject = realm.subject_token()
    done = run_cli(
        [
            "token", "egi-checkin", "--issuer", realm.issuer, "--client-id", "client-b",
            "--subject-token", "-", "--audience", "client-b", "--requested-token-type", REFRESH_TOKEN_TYPE,
            "--subject-token-type", ACCESS_TOKEN_TYPE, "--resource", "https://api.example/eo", "--json",
            "--no-store",
        ],
        subject.access_token + "\n",
        {"M2MAUTH_CLIENT_SECRET": "client-b-secret:%+é", "M2MAUTH_HOME": str(tmp_path / "home")},
    )
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert record["issued_token_type"] == REFRESH_TOKEN_TYPE
    assert subject.access_token not in done.stdout + done.stderr
    (sent,) = exchanges(realm.provider)
    assert sent.field("resource") == "https://api.example/eo"
    assert sent.field("requested_token_type") == REFRESH_TOKEN_TYPE


def test_cli_unknown_audience_prints_the_hint(realm: Realm, tmp_path: Path) -> None:
    subject = realm.subject_token()
    done = run_cli(
        ["token", "egi-checkin", "--issuer", realm.issuer, "--client-id", "client-b", "--subject-token", "-",
         "--audience", "no-such-client", "--no-store"],
        subject.access_token + "\n",
        {"M2MAUTH_CLIENT_SECRET": "client-b-secret:%+é", "M2MAUTH_HOME": str(tmp_path / "home")},
    )
    assert done.returncode != 0
    assert "audience not found" in done.stderr and "registered in Check-in" in done.stderr
    assert subject.access_token not in done.stdout + done.stderr


# -- doctor -------------------------------------------------------------------------------------


def run_doctor_cli(realm: Realm, tmp_path: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return run_cli(
        ["doctor", "egi-checkin", "--issuer", realm.issuer, "--client-id", "client-b", "--timeout", "10", *args],
        stdin,
        {"M2MAUTH_CLIENT_SECRET": "client-b-secret:%+é", "M2MAUTH_HOME": str(tmp_path / "home")},
    )


def test_doctor_token_exchange_passes_and_names_the_subject_tokens_time_left(realm: Realm, tmp_path: Path) -> None:
    subject = realm.subject_token()
    done = run_doctor_cli(realm, tmp_path, "--subject-token", "-", "--audience", "client-b", "--json",
                          stdin=subject.access_token + "\n")
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    checks = {c["name"]: c for c in report["checks"]}
    assert checks["subject token"]["status"] == "ok" and checks["subject token"]["details"]["seconds_left"] > 3000
    assert checks["exchange"]["status"] == "ok"
    assert subject.access_token not in done.stdout + done.stderr
    assert len(exchanges(realm.provider)) == 1


def test_doctor_shows_checkins_audience_hint(realm: Realm, tmp_path: Path) -> None:
    subject = realm.subject_token()
    done = run_doctor_cli(realm, tmp_path, "--subject-token", "-", "--audience", "my-service",
                          stdin=subject.access_token + "\n")
    assert done.returncode == 1
    assert "audience not found" in done.stdout and "client ID of a client registered in Check-in" in done.stdout


def test_doctor_flags_a_refresh_scope_without_openid_before_sending(realm: Realm, tmp_path: Path) -> None:
    done = run_doctor_cli(realm, tmp_path, "--refresh-token", "-", "--scope", "email", stdin="some-refresh\n")
    assert done.returncode == 1
    assert "lacks openid" in done.stdout
    assert not [r for r in realm.provider.requests_log if r.token_endpoint]  # a refresh token is never spent
