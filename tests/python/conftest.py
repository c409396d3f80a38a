"""Shared fixtures for the pure-layer unit tests.

Keys come from ``spec/keys`` (published test keys, see its README) or are generated here with
``cryptography``. Every check of a signature goes through PyJWT or cryptography directly, never
through m2mauth's own verifier, so a bug in the signer cannot hide behind the same bug in the
verifier.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from m2mauth.testing import LocalProvider

ROOT = Path(__file__).resolve().parents[2]
KEYS = ROOT / "spec" / "keys"
PROFILES = ROOT / "spec" / "profiles"
FIXTURES = Path(__file__).resolve().parent / "fixtures"

#: The passphrase of spec/keys/test-rsa-2048.encrypted.pem, as spec/keys/README.md gives it.
KEY_PASSPHRASE = "m2mauth-test-passphrase"
#: A fixed clock for reproducible assertions: 2026-01-01T00:00:00Z.
NOW = 1_767_225_600


@pytest.fixture(scope="session")
def keys_dir() -> Path:
    return KEYS


@pytest.fixture(scope="session")
def profiles_dir() -> Path:
    return PROFILES


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture(scope="session")
def now() -> int:
    return NOW


@pytest.fixture(scope="session")
def passphrase() -> str:
    return KEY_PASSPHRASE


@pytest.fixture(scope="session")
def rsa_private() -> rsa.RSAPrivateKey:
    """The spec's RSA test key, loaded by cryptography (not by m2mauth)."""
    key = serialization.load_pem_private_key((KEYS / "test-rsa-2048.pkcs8.pem").read_bytes(), None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


@pytest.fixture(scope="session")
def rsa_public(rsa_private: rsa.RSAPrivateKey) -> rsa.RSAPublicKey:
    return rsa_private.public_key()


@pytest.fixture(scope="session")
def other_rsa_public() -> rsa.RSAPublicKey:
    key = serialization.load_pem_private_key((KEYS / "test-rsa-2048-other.pkcs8.pem").read_bytes(), None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key.public_key()


@pytest.fixture(scope="session")
def ec_private() -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key((KEYS / "test-ec-p256.pkcs8.pem").read_bytes(), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key


@pytest.fixture(scope="session")
def ec_public(ec_private: ec.EllipticCurvePrivateKey) -> ec.EllipticCurvePublicKey:
    return ec_private.public_key()


@pytest.fixture(scope="session")
def hmac_secret() -> str:
    return (KEYS / "test-hmac.secret").read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def rsa_jwk() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((KEYS / "test-rsa-2048.jwk.json").read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="session")
def rsa_public_jwk_text() -> str:
    return (KEYS / "test-rsa-2048.public.jwk.json").read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def generated_rsa() -> rsa.RSAPrivateKey:
    """A fresh RSA key made in the test session (not one of the spec's files)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def generated_ec() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@pytest.fixture(scope="session")
def b64url() -> Callable[[bytes], str]:
    """Independent base64url encoder (stdlib), for building test JWTs by hand."""
    return _b64url


@pytest.fixture(scope="session")
def unb64url() -> Callable[[str], bytes]:
    """Independent base64url decoder (stdlib)."""
    return _unb64url


@pytest.fixture(scope="session")
def jwt_parts() -> Callable[[str], tuple[dict[str, Any], dict[str, Any], bytes]]:
    """Split a compact JWS into (header, claims, signature) with the stdlib only."""

    def split(token: str) -> tuple[dict[str, Any], dict[str, Any], bytes]:
        head, body, sig = token.split(".")
        return json.loads(_unb64url(head)), json.loads(_unb64url(body)), _unb64url(sig)

    return split


@pytest.fixture(scope="session")
def make_jwt() -> Callable[..., str]:
    """Build an unsigned-or-fake-signed compact JWT from raw segments (for diagnosis tests)."""

    def build(header: Any, claims: Any, signature: bytes = b"\x00" * 256) -> str:
        head = header if isinstance(header, str) else _b64url(json.dumps(header).encode())
        body = claims if isinstance(claims, str) else _b64url(json.dumps(claims).encode())
        return f"{head}.{body}.{_b64url(signature)}"

    return build


# -- LocalProvider (test_local_provider_*.py; their helpers are in local_provider_helpers.py) --------


@pytest.fixture
def provider() -> Iterator[LocalProvider]:
    with LocalProvider() as running:
        yield running


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def other_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)
