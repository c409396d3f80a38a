"""Keys: repr never shows key material; pickling, passing a Key through, verify round trips."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest
from key_checks import DATA, verify_es256

from m2mauth import load_key, secret_key

# --- repr, pickling ------------------------------------------------------------------------------


def test_repr_never_shows_key_material(keys_dir: Path, rsa_jwk: dict, hmac_secret: str) -> None:
    rsa_key = load_key(rsa_jwk)
    ec_key = load_key(keys_dir / "test-ec-p256.jwk.json")
    ec_jwk = json.loads((keys_dir / "test-ec-p256.jwk.json").read_text(encoding="utf-8"))
    secret = secret_key(hmac_secret, kid="dt-key")
    pem_lines = [
        line
        for line in (keys_dir / "test-rsa-2048.pkcs8.pem").read_text(encoding="ascii").splitlines()
        if "-----" not in line
    ]
    for key, material in (
        (rsa_key, [rsa_jwk[m][:16] for m in ("n", "d", "p", "q", "dp", "dq", "qi")] + pem_lines[:3]),
        (ec_key, [ec_jwk["d"][:16], ec_jwk["x"][:16]]),
        (secret, [hmac_secret, hmac_secret[-16:]]),
    ):
        for text in (repr(key), str(key), f"{key!r}"):
            for fragment in material:
                assert fragment not in text
    assert repr(rsa_key) == "<Key RSA 2048-bit private key, kid='m2mauth-test-rsa-1'>"
    assert repr(secret) == "<Key shared secret (HMAC key), kid='dt-key'>"


@pytest.mark.parametrize("protocol", [2, pickle.HIGHEST_PROTOCOL])
def test_rsa_key_pickles_and_signs_identically(keys_dir: Path, protocol: int) -> None:
    key = load_key(keys_dir / "test-rsa-2048.jwk.json")
    copy = pickle.loads(pickle.dumps(key, protocol=protocol))
    assert copy.kid == key.kid == "m2mauth-test-rsa-1"
    assert copy.alg == key.alg
    assert copy.sign(DATA, "RS256") == key.sign(DATA, "RS256")
    assert copy.public_jwk() == key.public_jwk()


def test_ec_and_public_keys_pickle(keys_dir: Path, ec_public) -> None:
    ec_key = load_key(keys_dir / "test-ec-p256.jwk.json")
    ec_copy = pickle.loads(pickle.dumps(ec_key))
    assert ec_copy.kid == "m2mauth-test-ec-1"
    verify_es256(ec_public, ec_copy.sign(DATA, "ES256"))
    public = load_key(keys_dir / "test-rsa-2048.public.jwk.json")
    public_copy = pickle.loads(pickle.dumps(public))
    assert not public_copy.is_private
    assert public_copy.public_jwk() == public.public_jwk()


def test_secret_key_pickles(hmac_secret: str) -> None:
    key = secret_key(hmac_secret, kid="k")
    copy = pickle.loads(pickle.dumps(key))
    assert copy.kid == "k"
    assert copy.sign(DATA, "HS384") == key.sign(DATA, "HS384")


def test_oct_key_pickle_keeps_alg(hmac_secret: str, b64url) -> None:
    key = load_key({"kty": "oct", "k": b64url(hmac_secret.encode()), "alg": "HS512"})
    assert pickle.loads(pickle.dumps(key)).default_algorithm == "HS512"


def test_load_key_passes_a_key_through(keys_dir: Path) -> None:
    key = load_key(keys_dir / "test-rsa-2048.pkcs8.pem")
    assert load_key(key) is key
    renamed = load_key(key, kid="k2")
    assert renamed.kid == "k2"
    assert key.kid is None
    assert renamed.sign(DATA, "RS256") == key.sign(DATA, "RS256")


def test_key_verify_roundtrip_and_rejections(keys_dir: Path, hmac_secret: str) -> None:
    # Only to pin the core's verifier behaviour for diagnose(); signatures come from cryptography.
    key = load_key(keys_dir / "test-rsa-2048.pkcs8.pem")
    other = load_key(keys_dir / "test-rsa-2048-other.pkcs8.pem")
    signature = key.sign(DATA, "RS256")
    assert key.verify(DATA, signature, "RS256")
    assert not other.verify(DATA, signature, "RS256")
    assert not key.verify(DATA + b"x", signature, "RS256")
    assert not key.verify(DATA, signature, "HS256")
    assert not secret_key(hmac_secret).verify(DATA, signature, "HS256")
