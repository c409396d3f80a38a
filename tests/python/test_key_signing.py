"""Algorithm families per key type, and signatures verified with cryptography, PyJWT and hmac."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import jwt
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import padding
from key_checks import DATA, HASHES, HASHLIB, HMAC_ALGS, RSA_ALGS, verify_es256, verify_rsa

from m2mauth import ConfigError, load_key, secret_key

# --- algorithms ----------------------------------------------------------------------------------


def test_algorithms_per_key_type(keys_dir: Path, hmac_secret: str) -> None:
    assert load_key(keys_dir / "test-rsa-2048.pkcs8.pem").algorithms == RSA_ALGS
    assert load_key(keys_dir / "test-ec-p256.pkcs8.pem").algorithms == ("ES256",)
    assert secret_key(hmac_secret).algorithms == HMAC_ALGS
    assert load_key(keys_dir / "test-rsa-2048.pkcs8.pem").default_algorithm == "RS256"
    assert secret_key(hmac_secret).default_algorithm == "HS256"


def test_jwk_alg_sets_default_algorithm(rsa_jwk: dict) -> None:
    assert load_key({**rsa_jwk, "alg": "PS384"}).default_algorithm == "PS384"
    # An alg that does not fit the key is ignored for the default.
    assert load_key({**rsa_jwk, "alg": "HS256"}).default_algorithm == "RS256"


def test_rsa_key_refuses_hs256(keys_dir: Path) -> None:
    key = load_key(keys_dir / "test-rsa-2048.pkcs8.pem")
    with pytest.raises(ConfigError) as info:
        key.sign(DATA, "HS256")
    assert info.value.code == "key_algorithm_mismatch"
    assert "RS256" in (info.value.hint or "")
    assert "jwt_encode_hmac" in (info.value.hint or "")
    with pytest.raises(ConfigError) as info:
        key.check_algorithm("ES256")
    assert info.value.code == "key_algorithm_mismatch"


def test_secret_refuses_rs256(hmac_secret: str) -> None:
    key = secret_key(hmac_secret)
    for alg in ("RS256", "ES256", "PS256", "none"):
        with pytest.raises(ConfigError) as info:
            key.sign(DATA, alg)
        assert info.value.code == "key_algorithm_mismatch"
    assert hmac_secret not in str(info.value)


def test_ec_key_refuses_other_algorithms(keys_dir: Path) -> None:
    key = load_key(keys_dir / "test-ec-p256.pkcs8.pem")
    for alg in ("ES384", "RS256", "HS256"):
        with pytest.raises(ConfigError) as info:
            key.sign(DATA, alg)
        assert info.value.code == "key_algorithm_mismatch"


# --- signatures, verified independently ------------------------------------------------------------


@pytest.mark.parametrize("alg", RSA_ALGS)
def test_rsa_signatures_verify_with_cryptography(keys_dir: Path, rsa_public, other_rsa_public, alg: str) -> None:
    key = load_key(keys_dir / "test-rsa-2048.pkcs8.pem")
    signature = key.sign(DATA, alg)
    assert len(signature) == 256
    verify_rsa(rsa_public, signature, alg)
    with pytest.raises(InvalidSignature):
        verify_rsa(other_rsa_public, signature, alg)
    # PyJWT's own algorithm object agrees (salt length = hash size for PS*).
    assert jwt.get_algorithm_by_name(alg).verify(DATA, rsa_public, signature)


@pytest.mark.parametrize("alg", ["RS256", "RS384", "RS512"])
def test_rsa_pkcs1_signatures_are_deterministic(keys_dir: Path, rsa_private, alg: str) -> None:
    key = load_key(keys_dir / "test-rsa-2048.pkcs8.pem")
    h = HASHES[alg[2:]]()
    assert key.sign(DATA, alg) == key.sign(DATA, alg) == rsa_private.sign(DATA, padding.PKCS1v15(), h)


def test_pss_signatures_are_randomised(keys_dir: Path) -> None:
    key = load_key(keys_dir / "test-rsa-2048.pkcs8.pem")
    assert key.sign(DATA, "PS256") != key.sign(DATA, "PS256")


def test_es256_signature_verifies(keys_dir: Path, ec_public) -> None:
    signature = load_key(keys_dir / "test-ec-p256.jwk.json").sign(DATA, "ES256")
    verify_es256(ec_public, signature)
    assert jwt.get_algorithm_by_name("ES256").verify(DATA, ec_public, signature)


@pytest.mark.parametrize("alg", HMAC_ALGS)
def test_hmac_signatures(hmac_secret: str, alg: str) -> None:
    signature = secret_key(hmac_secret).sign(DATA, alg)
    assert signature == hmac.new(hmac_secret.encode(), DATA, HASHLIB[alg[2:]]).digest()
    assert jwt.get_algorithm_by_name(alg).verify(DATA, hmac_secret.encode(), signature)


def test_secret_bytes_and_text_are_the_same_key() -> None:
    text = "päss wörd"
    assert secret_key(text).sign(DATA, "HS256") == secret_key(text.encode("utf-8")).sign(DATA, "HS256")


def test_oct_jwk_is_a_secret(hmac_secret: str, b64url) -> None:
    key = load_key({"kty": "oct", "k": b64url(hmac_secret.encode()), "kid": "k1", "alg": "HS512"})
    assert key.kind == "oct"
    assert key.kid == "k1"
    assert key.default_algorithm == "HS512"
    assert key.sign(DATA, "HS512") == hmac.new(hmac_secret.encode(), DATA, hashlib.sha512).digest()


@pytest.mark.parametrize("value", ["", b""])
def test_empty_secret_is_refused(value: str | bytes) -> None:
    with pytest.raises(ConfigError) as info:
        secret_key(value)
    assert info.value.code == "invalid_key"


def test_empty_oct_jwk_is_refused() -> None:
    with pytest.raises(ConfigError) as info:
        load_key({"kty": "oct", "k": ""})
    assert info.value.code == "invalid_key"
