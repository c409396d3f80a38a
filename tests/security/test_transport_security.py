"""Transport security: TLS always verified (a private CA by path), http only to loopback, no redirects
with credentials. The HTTPS server runs on 127.0.0.1 with a CA and certificate made in the test."""

from __future__ import annotations

import datetime
import http.server
import ipaddress
import json
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

import m2mauth
from m2mauth.client_auth import ClientAuth
from m2mauth.grants import client_credentials

CANARY = "canary-secret-7f3a9c"


def make_ca_and_server_cert(folder: Path) -> tuple[Path, Path, Path]:
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "m2mauth TEST CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    ca_path, cert_path, key_path = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return ca_path, cert_path, key_path


class Handler(http.server.BaseHTTPRequestHandler):
    seen: ClassVar[list[tuple[str, str]]] = []

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        type(self).seen.append((self.path, self.headers.get("Authorization") or ""))
        if self.path == "/redirecting/token":
            self.send_response(307)
            self.send_header("Location", "/elsewhere/token")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = json.dumps({"access_token": "tls-token-0001", "token_type": "Bearer", "expires_in": 60}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def https_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    folder = tmp_path_factory.mktemp("tls")
    ca_path, cert_path, key_path = make_ca_and_server_cert(folder)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}", ca_path
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def fetch(url: str, **options: object) -> m2mauth.Token:
    return m2mauth.fetch_token("generic", token_url=url, client_id="tls-client", client_secret=CANARY,
                               timeout=10, **options)  # type: ignore[arg-type]


def test_untrusted_certificate_is_refused(https_server: tuple[str, Path]) -> None:
    base, _ = https_server
    with pytest.raises(m2mauth.TransportError) as caught:
        fetch(base + "/token")
    assert caught.value.code == "tls_error"
    assert "verify=" in (caught.value.hint or "")
    assert CANARY not in str(caught.value)


def test_private_ca_bundle_is_trusted_when_named(https_server: tuple[str, Path]) -> None:
    base, ca_path = https_server
    token = fetch(base + "/token", verify=str(ca_path))
    assert token.access_token == "tls-token-0001"


def test_tls_verification_cannot_be_turned_off(https_server: tuple[str, Path]) -> None:
    base, _ = https_server
    with pytest.raises(m2mauth.ConfigError) as caught:
        fetch(base + "/token", verify=False)
    assert caught.value.code == "insecure_tls"


@pytest.mark.parametrize("url", ["http://auth.example.org/token", "http://10.0.0.8/token", "ftp://127.0.0.1/token"])
def test_plain_http_only_to_loopback(url: str) -> None:
    with pytest.raises(m2mauth.ConfigError) as caught:
        fetch(url)
    assert caught.value.code in ("insecure_url", "invalid_url")


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/token", "http://localhost:9/token", "http://[::1]:9/token"])
def test_loopback_http_is_allowed(url: str) -> None:
    m2mauth.transport.check_url(url)


def test_redirects_are_not_followed_with_credentials(https_server: tuple[str, Path]) -> None:
    base, ca_path = https_server
    Handler.seen.clear()
    with pytest.raises(m2mauth.TokenEndpointError) as caught:
        fetch(base + "/redirecting/token", verify=str(ca_path))
    assert caught.value.code == "redirect"
    assert "/elsewhere/token" in (caught.value.hint or "")
    assert [path for path, _ in Handler.seen] == ["/redirecting/token"]


def test_exchange_refuses_plain_http_before_connecting() -> None:
    request = client_credentials("http://auth.example.org/token", ClientAuth("client_secret_basic", "c", CANARY))
    with pytest.raises(m2mauth.ConfigError):
        m2mauth.exchange(request)
