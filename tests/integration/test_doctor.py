"""``m2mauth doctor`` names the classic failures with their fix, against the local provider on 127.0.0.1.

The four failures of the issue, one test each: the CLMS HMAC grant (httr2's ``jwt_encode_hmac``
with ``alg.1``), the JSON body, a Disruptive Technologies timing error from a skewed clock, and a
wrong audience. Grants are built here by hand (``hmac``, PyJWT), not by m2mauth. The pure checks
(clock thresholds, proxy display, file modes) are tested directly.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import RSAAlgorithm

from m2mauth import cli
from m2mauth.doctor import (
    FAIL,
    OK,
    SKIP,
    WARN,
    bypasses_proxy,
    clock_check,
    permission_check,
    proxy_check,
    run_doctor,
    safe_proxy_url,
)
from m2mauth.testing import LocalProvider

try:  # tests/integration as a package (an __init__.py exists)
    from .conftest_local import Result, clean_environment, invoke_cli  # type: ignore[import-not-found, unused-ignore]
except ImportError:  # rootdir-style import: this folder is on sys.path
    from conftest_local import Result, clean_environment, invoke_cli

CANARY = "canary-Proxy-Password-91c2"
ENV_PREFIXES = ("M2MAUTH_", "DT_SERVICE_ACCOUNT_", "OPENEO_AUTH_")
DT_EMAIL = "svc@example.serviceaccount.d21s.com"


@dataclass
class Report(Result):
    """A doctor run's result, with its report read back."""

    @property
    def text(self) -> str:
        """stdout with runs of whitespace folded, for phrase searches."""
        return " ".join(self.out.split())

    def report(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.out)
        return data

    def check(self, name: str) -> dict[str, Any]:
        return next(c for c in self.report()["checks"] if c["name"] == name)


Run = Callable[..., Report]


@pytest.fixture(autouse=True)
def no_machine_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_environment(monkeypatch, tmp_path, ENV_PREFIXES, m2mauth_home="default-home")


@pytest.fixture()
def doctor(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Run:
    def invoke(*argv: str, stdin: str = "") -> Report:
        result = invoke_cli(capsys, monkeypatch, ["doctor", *argv, "--timeout", "10"], stdin)
        return Report(result.code, result.out, result.err)

    return invoke


def write_key(path: Path, service_key: dict[str, str], mode: int = 0o600) -> Path:
    path.write_text(json.dumps(service_key), encoding="utf-8")
    path.chmod(mode)
    return path


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def httr2_hmac_grant(service_key: dict[str, str], now: int) -> str:
    """What httr2::jwt_encode_hmac(claim, secret = private_key, header = list(alg = "RS256")) makes:
    an HS256 JWT keyed with the PEM text, whose header keeps the extra alg renamed 'alg.1'.
    Built by hand: PyJWT refuses a PEM string as an HMAC secret."""
    header = {"typ": "JWT", "alg": "HS256", "alg.1": "RS256"}
    claims = {
        "iss": service_key["client_id"],
        "sub": service_key["user_id"],
        "aud": service_key["token_uri"],
        "exp": now + 3600,
        "nbf": now,
        "iat": now,
        "jti": "YpHSJjNJM3xO9HWSmY54ZjKBzBTNuKVPKK4dlgNhJkU",
    }
    signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
    signature = hmac.new(service_key["private_key"].encode(), signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64url(signature)


def rs256_grant(service_key: dict[str, str], now: int, **overrides: Any) -> str:
    claims = {
        "iss": service_key["client_id"],
        "sub": service_key["user_id"],
        "aud": service_key["token_uri"],
        "iat": now,
        "exp": now + 3600,
        **overrides,
    }
    return jwt.encode(claims, service_key["private_key"], algorithm="RS256")


# -- the four failures of the issue ---------------------------------------------------------------


def test_doctor_names_the_clms_hmac_grant_and_its_fix(doctor: Run, provider: LocalProvider, tmp_path: Path) -> None:
    service_key = provider.make_clms_service_key()
    key_file = write_key(tmp_path / "land-copernicus.json", service_key)
    grant = httr2_hmac_grant(service_key, int(time.time()))

    result = doctor("clms", "--service-key", str(key_file), "--jwt", grant, "--send")
    assert result.code == cli.EXIT_FAILED
    text = result.text
    assert "duplicate_alg_header" in text and "hmac_instead_of_rsa" in text
    assert "Sign with the RSA private key using RS256" in text  # the fix
    assert "✗ your grant" in result.out and "✗ exchange" in result.out
    assert "Only RS256 signature algorithm is supported" in text  # the server's answer, shown
    assert "RSA 2048-bit private key" in text and "m2mauth would sign RS256" in text
    assert grant.rsplit(".", 1)[1] not in result.out

    as_json = doctor("clms", "--service-key", str(key_file), "--jwt", "-", "--send", "--json", stdin=grant + "\n")
    assert as_json.code == cli.EXIT_FAILED
    grant_check = as_json.check("grant")
    assert grant_check["status"] == FAIL
    assert {"duplicate_alg_header", "hmac_instead_of_rsa"} <= set(grant_check["codes"])
    assert "RS256" in grant_check["fix"]
    exchange = as_json.check("exchange")
    assert exchange["status"] == FAIL and "wrong_signature_algorithm" in exchange["codes"]
    assert exchange["details"]["explanation"]["error_description"] == "Only RS256 signature algorithm is supported"
    assert "jwt_encode_hmac" in exchange["fix"]
    assert as_json.report()["mode"] == "jwt" and as_json.report()["ok"] is False

    # Without --send nothing reaches the token endpoint, and the grant is still diagnosed.
    before = provider.token_requests("clms")
    quiet = doctor("clms", "--service-key", str(key_file), "--jwt", grant, "--json")
    assert quiet.check("exchange")["status"] == SKIP and provider.token_requests("clms") == before
    assert quiet.check("grant")["status"] == FAIL


def test_doctor_explains_a_json_body_as_not_form_encoded(doctor: Run, provider: LocalProvider, tmp_path: Path) -> None:
    service_key = provider.make_clms_service_key()
    grant = rs256_grant(service_key, int(time.time()))

    result = doctor("clms", "--jwt", grant, "--send", "--json-body", "--token-url", service_key["token_uri"])
    assert result.code == cli.EXIT_FAILED
    assert "✓ your grant" in result.out  # the grant itself is fine
    text = result.text
    assert "Missing 'grant_type'" in text
    assert "form-encoded" in text and "application/x-www-form-urlencoded" in text
    assert "as a JSON body" in text
    sent = [r for r in provider.requests_log if r.token_endpoint][-1]
    assert sent.content_type == "application/json"

    as_json = doctor("clms", "--jwt", grant, "--send", "--json-body", "--token-url", service_key["token_uri"], "--json")
    exchange = as_json.check("exchange")
    assert exchange["status"] == FAIL and "body_not_form_encoded" in exchange["codes"]
    assert "form-encoded" in exchange["fix"]

    # The same grant, form-encoded as doctor sends it by default, is accepted.
    fixed = doctor("clms", "--jwt", grant, "--send", "--token-url", service_key["token_uri"])
    assert fixed.code == cli.EXIT_OK, fixed.out
    assert "✓ exchange" in fixed.out and "All checks passed." in fixed.out


def test_doctor_reports_a_skewed_clock_and_the_dt_timing_error(doctor: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    with LocalProvider(token_lifetime=600, clock=lambda: time.time() + 600) as provider:  # 10 minutes ahead
        provider.add_dt_service_account("dt-kid", "dt-service-account-secret", DT_EMAIL)
        monkeypatch.setenv("DT_SERVICE_ACCOUNT_KEY_ID", "dt-kid")
        monkeypatch.setenv("DT_SERVICE_ACCOUNT_SECRET", "dt-service-account-secret")
        monkeypatch.setenv("DT_SERVICE_ACCOUNT_EMAIL", DT_EMAIL)
        url = provider.token_url("disruptive-technologies")

        result = doctor("disruptive-technologies", "--token-url", url)
        assert result.code == cli.EXIT_FAILED
        text = result.text
        assert "✗ clock" in result.out and "behind the token server's" in text
        assert "Timing-related error. Check the 'exp' and 'iat' claims." in text
        assert "NTP" in text and "timedatectl" in text
        assert "dt-service-account-secret" not in result.out + result.err

        as_json = doctor("disruptive-technologies", "--token-url", url, "--json")
        clock = as_json.check("clock")
        assert clock["status"] == FAIL and "clock_skew" in clock["codes"]
        assert 590 <= clock["details"]["offset_seconds"] <= 610
        assert "NTP" in clock["fix"]
        exchange = as_json.check("exchange")
        assert exchange["status"] == FAIL
        assert {"invalid_grant", "assertion_timing", "clock_skew"} <= set(exchange["codes"])
        assert exchange["details"]["explanation"]["error_description"].startswith("Timing-related error")
        assert "600 s (10 min) behind" in exchange["fix"] and "NTP" in exchange["fix"]
        assert as_json.check("claims")["status"] == OK  # the grant is right by the local clock


def test_doctor_finds_a_clms_service_key_used_with_another_token_url(
    doctor: Run, provider: LocalProvider, tmp_path: Path
) -> None:
    service_key = provider.make_clms_service_key()
    port = service_key["token_uri"].split(":")[2].split("/")[0]
    service_key["token_uri"] = f"http://localhost:{port}/@@oauth2-token"  # issued for another name of the server
    provider.add_clms_service_key(service_key)
    key_file = write_key(tmp_path / "land-copernicus.json", service_key)
    used = provider.token_url("clms")  # http://127.0.0.1:PORT/@@oauth2-token

    result = doctor("clms", "--service-key", str(key_file), "--token-url", used, "--json")
    assert result.code == cli.EXIT_FAILED
    claims = result.check("claims")
    assert claims["status"] == FAIL and "audience_mismatch" in claims["codes"]
    assert "drop --token-url" in claims["fix"] and service_key["token_uri"] in claims["fix"]
    exchange = result.check("exchange")
    assert exchange["status"] == FAIL and "audience_mismatch" in exchange["codes"]
    assert "'aud' must be the token_uri of the service key" in exchange["message"]

    human = doctor("clms", "--service-key", str(key_file), "--token-url", used)
    assert "✗ grant claims" in human.out and "audience_mismatch" in human.out

    # The fix works: without --token-url the grant names and goes to the service key's token_uri.
    fixed = doctor("clms", "--service-key", str(key_file))
    assert fixed.code == cli.EXIT_OK, fixed.out


def test_doctor_finds_a_wrong_audience_in_a_generic_jwt_grant(doctor: Run, provider: LocalProvider) -> None:
    provider.add_client("generic", "aud-client", client_secret="shared-hmac-secret-for-aud")
    url = provider.token_url("generic")
    options = ["--flow", "jwt_bearer", "--client-id", "aud-client", "--secret", "-", "--token-url", url]

    result = doctor("generic", *options, "--audience", "https://api.example.org/", stdin="shared-hmac-secret-for-aud\n")
    assert result.code == cli.EXIT_FAILED
    text = result.text
    assert "audience_mismatch" in text and f"Set aud to {url}" in text
    assert f"The assertion's 'aud' must be {url}" in text
    assert "shared-hmac-secret-for-aud" not in result.out + result.err

    fixed = doctor("generic", *options, stdin="shared-hmac-secret-for-aud\n")
    assert fixed.code == cli.EXIT_OK, fixed.out


# -- the other checks ----------------------------------------------------------------------------


def test_a_healthy_setup_passes_every_check(doctor: Run, provider: LocalProvider, tmp_path: Path) -> None:
    key_file = write_key(tmp_path / "key.json", provider.make_clms_service_key())
    result = doctor("clms", "--service-key", str(key_file))
    assert result.code == cli.EXIT_OK, result.out
    for line in ("✓ credentials", "✓ key file", "✓ key permissions", "✓ key & algorithm", "✓ grant claims",
                 "✓ clock", "✓ proxy", "✓ endpoint", "✓ exchange", "All checks passed."):  # fmt: skip
        assert line in result.out
    assert "m2mauth signs RS256" in result.text and "mode 0600" in result.out
    report = doctor("clms", "--service-key", str(key_file), "--json").report()
    assert report["ok"] is True and report["failed"] == [] and report["flow"] == "service_key"
    assert [c["name"] for c in report["checks"]] == [
        "credentials", "key_file", "key_permissions", "key", "claims", "clock", "proxy", "endpoint", "exchange",
    ]  # fmt: skip


def test_a_key_file_readable_by_others_is_a_warning_with_chmod(
    doctor: Run, provider: LocalProvider, tmp_path: Path
) -> None:
    key_file = write_key(tmp_path / "key.json", provider.make_clms_service_key(), mode=0o644)
    result = doctor("clms", "--service-key", str(key_file))
    assert result.code == cli.EXIT_OK  # a warning does not fail
    assert "! key permissions" in result.out and "readable by group and others" in result.out
    assert f"fix: chmod 600 {key_file}" in result.out


def test_a_missing_key_file_fails_the_check_not_the_command(doctor: Run, tmp_path: Path) -> None:
    result = doctor("clms", "--service-key", str(tmp_path / "nowhere.json"), "--no-exchange", "--json")
    assert result.code == cli.EXIT_FAILED
    check = result.check("key_file")
    assert check["status"] == FAIL and check["codes"] == ["key_file_not_found"] and check["fix"]


def test_missing_credentials_are_named_with_their_environment_variables(doctor: Run, provider: LocalProvider) -> None:
    result = doctor("disruptive-technologies", "--token-url", provider.token_url("dt"), "--json")
    assert result.code == cli.EXIT_FAILED
    check = result.check("credentials")
    assert check["status"] == FAIL and "DT_SERVICE_ACCOUNT_SECRET" in check["fix"]
    assert result.check("endpoint")["status"] == OK  # the rest still runs


def test_proxy_settings_are_shown_without_credentials(
    doctor: Run, provider: LocalProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider.add_client("generic", "proxy-client", client_secret="proxy-client-secret")
    monkeypatch.setenv("HTTP_PROXY", f"http://alice:{CANARY}@proxy.invalid:3128")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    result = doctor(
        "generic", "--client-id", "proxy-client", "--client-secret", "-", "--token-url", provider.token_url("generic"),
        stdin="proxy-client-secret\n",
    )  # fmt: skip
    assert result.code == cli.EXIT_OK, result.out
    assert "HTTP_PROXY=http://***:***@proxy.invalid:3128" in result.out
    assert "bypass the proxy (NO_PROXY)" in result.out
    assert CANARY not in result.out + result.err and "alice" not in result.out


def test_an_unreachable_endpoint_fails_and_the_exchange_is_not_tried(doctor: Run) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/oauth/token"
    result = doctor(
        "generic", "--client-id", "c", "--client-secret", "-", "--token-url", url, "--json", stdin="s3cret\n"
    )
    assert result.code == cli.EXIT_FAILED
    assert result.check("endpoint")["status"] == FAIL and result.check("endpoint")["codes"] == ["connection_error"]
    assert result.check("clock")["status"] == SKIP and result.check("exchange")["status"] == SKIP


def test_plain_http_to_a_remote_host_is_refused(doctor: Run) -> None:
    result = doctor("generic", "--client-id", "c", "--client-secret", "-", "--token-url",
                    "http://auth.example.org/token", "--json", stdin="s3cret\n")  # fmt: skip
    assert result.code == cli.EXIT_FAILED
    assert result.check("endpoint")["codes"] == ["insecure_url"]


def test_a_refresh_token_is_not_spent_by_doctor(doctor: Run, provider: LocalProvider) -> None:
    refresh = provider.issue_refresh_token("openaire")
    url = provider.token_url("openaire", "personal_refresh")
    result = doctor("openaire", "--refresh-token", "-", "--token-url", url, "--json", stdin=refresh + "\n")
    assert result.code == cli.EXIT_OK, result.out
    assert result.check("exchange")["status"] == SKIP
    assert provider.refresh_token_accepted("openaire", refresh)
    assert refresh not in result.out


def test_run_doctor_is_usable_as_a_library(provider: LocalProvider) -> None:
    provider.add_client("generic", "lib-client", client_secret="lib-client-secret")
    report = run_doctor(
        "generic",
        client_id="lib-client",
        client_secret="lib-client-secret",
        token_url=provider.token_url("generic"),
        environ={},
        timeout=10,
    )
    assert report.ok and report.check("exchange") is not None
    assert "lib-client-secret" not in json.dumps(report.to_dict()) + report.render()
    assert report.render(ascii_only=True).isascii()


# -- doctor contacts only what the user named ------------------------------------------------------


@dataclass
class Network:
    """Every name looked up and every address connected to while the guard is on."""

    looked_up: list[str]
    connected: list[Any]

    @property
    def remote(self) -> list[str]:
        return [h for h in self.looked_up if h not in ("127.0.0.1", "localhost")] + [
            str(a) for a in self.connected if not (isinstance(a, tuple) and a[0] == "127.0.0.1")
        ]


@pytest.fixture()
def network(monkeypatch: pytest.MonkeyPatch) -> Network:
    """Record every lookup and connection, and refuse all but loopback: a production host must never be
    contacted. (Patching the socket layer is the only way to see an attempt on a host that cannot run here.)"""
    seen = Network([], [])
    real_connect, real_getaddrinfo = socket.socket.connect, socket.getaddrinfo

    def connect(sock: socket.socket, address: Any) -> None:
        seen.connected.append(address)
        if not (isinstance(address, tuple) and address[0] == "127.0.0.1"):
            raise ConnectionRefusedError(111, "refused by the test's network guard")
        real_connect(sock, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        seen.looked_up.append(host.decode() if isinstance(host, bytes) else str(host))
        if host not in ("127.0.0.1", "localhost", b"127.0.0.1", b"localhost"):
            raise socket.gaierror(socket.EAI_NONAME, "the test's network guard resolves loopback names only")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return seen


def ec_pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@pytest.mark.parametrize(
    "mutation",
    ["ec_key", "missing_user_id", "encrypted_without_passphrase", "not_a_pem"],
)
def test_a_service_key_that_cannot_be_loaded_is_checked_against_its_own_token_uri(
    doctor: Run, provider: LocalProvider, network: Network, tmp_path: Path, mutation: str
) -> None:
    service_key: dict[str, Any] = provider.make_clms_service_key()
    if mutation == "ec_key":
        service_key["private_key"] = ec_pem()
    elif mutation == "missing_user_id":
        del service_key["user_id"]
    elif mutation == "encrypted_without_passphrase":
        service_key["private_key"] = encrypted(service_key["private_key"], "a passphrase")
    else:
        service_key["private_key"] = "-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----\n"
    key_file = write_key(tmp_path / "land-copernicus.json", service_key)
    result = doctor("clms", "--service-key", str(key_file), "--json")
    assert result.code == cli.EXIT_FAILED
    assert result.check("key")["status"] == FAIL
    endpoint = result.check("endpoint")
    assert endpoint["status"] == OK and endpoint["details"]["url"] == service_key["token_uri"]
    assert result.report()["token_url"] == service_key["token_uri"]
    assert network.remote == [], network.remote  # never land.copernicus.eu
    assert any(
        isinstance(a, tuple) and a[1] == urlsplit(provider.base_url).port for a in network.connected
    )  # the key's server


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", '{"client_id": "x", "private_key": "y"}', None])
def test_a_service_key_with_no_readable_token_uri_contacts_nothing(
    doctor: Run, network: Network, tmp_path: Path, content: str | None
) -> None:
    key_file = tmp_path / "land-copernicus.json"
    if content is not None:
        key_file.write_text(content, encoding="utf-8")
        key_file.chmod(0o600)
    result = doctor("clms", "--service-key", str(key_file), "--json")
    assert result.code == cli.EXIT_FAILED
    endpoint = result.check("endpoint")
    assert endpoint["status"] == SKIP and endpoint["codes"] == ["service_key_unreadable"]
    assert "not probed" in endpoint["message"] and "--token-url" in endpoint["fix"]
    assert "token_url=" not in endpoint["fix"]  # the CLI names its own options
    assert result.check("exchange")["status"] == SKIP
    assert network.looked_up == [] and network.connected == []
    text = doctor("clms", "--service-key", str(key_file))
    assert "not probed: the service key cannot be read" in text.text


def test_a_service_key_with_no_readable_token_uri_probes_the_token_url_given(
    doctor: Run, provider: LocalProvider, network: Network, tmp_path: Path
) -> None:
    key_file = write_key(tmp_path / "land-copernicus.json", {"client_id": "only-this"})
    url = provider.token_url("clms")
    result = doctor("clms", "--service-key", str(key_file), "--token-url", url, "--json")
    assert result.check("endpoint")["status"] == OK and result.check("endpoint")["details"]["url"] == url
    assert network.remote == []


def encrypted(pem: str, passphrase: str) -> str:
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(passphrase.encode()),
    ).decode()


def test_key_password_opens_an_encrypted_clms_service_key(doctor: Run, provider: LocalProvider, tmp_path: Path) -> None:
    passphrase = "correct horse battery staple"
    service_key: dict[str, Any] = provider.make_clms_service_key()
    service_key["private_key"] = encrypted(service_key["private_key"], passphrase)  # the registered key, encrypted
    key_file = write_key(tmp_path / "land-copernicus.json", service_key)

    without = doctor("clms", "--service-key", str(key_file), "--json")
    key = without.check("key")
    assert key["status"] == FAIL and key["codes"] == ["key_password_required"]
    assert "--key-password" in key["fix"] and "key_password=" not in key["fix"]

    result = doctor("clms", "--service-key", str(key_file), "--key-password", "-", "--json", stdin=passphrase + "\n")
    assert result.code == cli.EXIT_OK, result.out
    assert result.check("key")["status"] == OK and result.check("exchange")["status"] == OK
    assert passphrase not in result.out + result.err
    # The library keyword works the same way.
    report = run_doctor("clms", service_key=str(key_file), key_password=passphrase, environ={}, timeout=10)
    assert report.ok, report.render()


def test_openaire_private_key_jwt_without_a_kid_is_warned_before_sending(
    doctor: Run, provider: LocalProvider, tmp_path: Path
) -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem_file = tmp_path / "service.private.pem"
    pem_file.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    pem_file.chmod(0o600)
    public = json.loads(RSAAlgorithm.to_jwk(private.public_key()))
    provider.add_client("openaire", "svc-advanced", public_jwk={**public, "kid": "svc-key-1", "alg": "RS256"})
    options = [
        "--client-id",
        "svc-advanced",
        "--private-key",
        str(pem_file),
        "--token-url",
        provider.token_url("openaire"),
    ]

    result = doctor("openaire", *options, "--json")
    names = [c["name"] for c in result.report()["checks"]]
    key = result.check("key")
    assert key["status"] == WARN and key["codes"] == ["missing_kid"]
    assert "kid does not match" in key["message"] and "--key-id" in key["fix"]
    assert names.index("key") < names.index("exchange")  # said before the answer that it explains
    assert result.check("exchange")["status"] == FAIL  # the server indeed refuses it

    fixed = doctor("openaire", *options, "--key-id", "svc-key-1", "--json")
    assert fixed.code == cli.EXIT_OK, fixed.out
    assert fixed.check("key")["status"] == OK and fixed.check("exchange")["status"] == OK


def test_hints_name_cli_options_when_run_from_the_cli(
    provider: LocalProvider, capsys: pytest.CaptureFixture[str]
) -> None:
    provider.add_client("generic", "slow-client", client_secret="slow-client-secret")
    provider.set_fault("slow", delay=3.0)
    argv = ["doctor", "generic", "--client-id", "slow-client", "--client-secret", "slow-client-secret",
            "--token-url", provider.token_url("generic"), "--timeout", "1", "--quiet"]  # fmt: skip
    assert cli.main([*argv, "--json"]) == cli.EXIT_FAILED
    exchange = json.loads(capsys.readouterr().out)["checks"][-1]
    assert exchange["name"] == "exchange" and "timeout" in exchange["codes"]
    assert "--timeout" in exchange["fix"] and "timeout=" not in exchange["fix"]
    provider.set_fault("slow", delay=3.0)
    assert cli.main(argv) == cli.EXIT_FAILED
    text = capsys.readouterr().out
    assert "--timeout" in text and "timeout=" not in text
    # The library keeps its own words: run_doctor is called from Python.
    provider.set_fault("slow", delay=3.0)
    report = run_doctor(
        "generic", client_id="slow-client", client_secret="slow-client-secret",
        token_url=provider.token_url("generic"), timeout=1, environ={},
    )  # fmt: skip
    fix = report.check("exchange").fix  # type: ignore[union-attr]
    assert fix is not None and "timeout=" in fix


# -- pure checks ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("offset", "status"),
    [(0.4, OK), (-1.5, OK), (29.0, OK), (-45.0, WARN), (45.0, WARN), (61.0, FAIL), (-600.0, FAIL), (None, SKIP)],
)
def test_clock_thresholds(offset: float | None, status: str) -> None:
    check = clock_check(offset)
    assert check.status == status
    if status in (WARN, FAIL):
        assert check.fix and "NTP" in check.fix and check.codes == ("clock_skew",)
    if offset is not None and abs(offset) >= 2:
        assert ("behind" if offset > 0 else "ahead of") in check.message


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("http://user:pw@proxy.example.org:3128", "http://***:***@proxy.example.org:3128"),
        ("http://proxy.example.org:8080/", "http://proxy.example.org:8080"),
        ("proxy.example.org:3128", "proxy.example.org:3128"),
        ("socks5h://u:p%40ss@[::1]:1080", "socks5h://***:***@[::1]:1080"),
        ("http://u:p@ss@host:1", "http://***:***@host:1"),
        ("http://[bad", "<not a valid URL>"),
    ],
)
def test_safe_proxy_url_drops_credentials(value: str, shown: str) -> None:
    assert safe_proxy_url(value) == shown


@pytest.mark.parametrize(
    ("host", "no_proxy", "bypass"),
    [
        ("127.0.0.1", "localhost,127.0.0.1", True),
        ("land.copernicus.eu", ".copernicus.eu", True),
        ("land.copernicus.eu", "copernicus.eu", True),
        ("land.copernicus.eu", "*", True),
        ("10.1.2.3", "10.0.0.0/8", True),
        ("land.copernicus.eu", "localhost,HP2011P079.ign.fr", False),
        ("notcopernicus.eu", "copernicus.eu", False),
    ],
)
def test_no_proxy_matching(host: str, no_proxy: str, bypass: bool) -> None:
    assert bypasses_proxy(host, no_proxy) is bypass


def test_proxy_check_of_the_seed_question_environment() -> None:
    environ = {"https_proxy": "http://proxy.ign.fr:3128/", "no_proxy": "localhost,HP2011P079.ign.fr"}
    check = proxy_check("https://land.copernicus.eu/@@oauth2-token", environ)
    assert check.status == OK
    assert check.details["route"] == "proxy" and check.details["proxy"] == "http://proxy.ign.fr:3128"
    assert "go through http://proxy.ign.fr:3128" in check.message


@pytest.mark.parametrize(("mode", "status"), [(0o600, OK), (0o400, OK), (0o640, WARN), (0o644, WARN), (0o602, WARN)])
def test_permission_check(mode: int, status: str) -> None:
    check = permission_check("/keys/key.pem", 0o100000 | mode, platform="linux")
    assert check.status == status
    if status == WARN:
        assert check.fix == "chmod 600 /keys/key.pem"
    assert permission_check("C:/k.pem", mode, platform="win32").status == SKIP
