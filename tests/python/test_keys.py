"""Key loading (PEM, JWK and JWKS, EC, public keys) and public_jwk."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import jwt
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from key_checks import DATA, same_public, verify_es256, verify_rsa

from m2mauth import ConfigError, load_key, secret_key
from m2mauth import sign_jwt as m2mauth_sign

# --- PEM -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["test-rsa-2048.pkcs8.pem", "test-rsa-2048.pkcs1.pem"])
def test_rsa_pem_forms_load_the_same_key(keys_dir: Path, rsa_public, name: str) -> None:
    key = load_key(keys_dir / name)
    assert key.kind == "RSA"
    assert key.size == 2048
    assert key.is_private
    assert key.kid is None
    assert same_public(rsa_public, key)
    assert key.describe() == "RSA 2048-bit private key"


def test_pkcs1_and_pkcs8_sign_identically(keys_dir: Path, rsa_private) -> None:
    one = load_key(keys_dir / "test-rsa-2048.pkcs1.pem").sign(DATA, "RS256")
    eight = load_key(keys_dir / "test-rsa-2048.pkcs8.pem").sign(DATA, "RS256")
    reference = rsa_private.sign(DATA, padding.PKCS1v15(), hashes.SHA256())
    assert one == eight == reference


def test_pem_text_bytes_and_path_string(keys_dir: Path, rsa_public) -> None:
    path = keys_dir / "test-rsa-2048.pkcs8.pem"
    for value in (path, str(path), path.read_bytes(), path.read_text(encoding="ascii")):
        assert same_public(rsa_public, load_key(value)), type(value)


def test_kid_argument_sets_kid_on_pem(keys_dir: Path) -> None:
    key = load_key(keys_dir / "test-rsa-2048.pkcs8.pem", kid="my-kid")
    assert key.kid == "my-kid"
    assert key.public_jwk()["kid"] == "my-kid"


def test_tilde_is_expanded(keys_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rsa_public) -> None:
    (tmp_path / "k.pem").write_bytes((keys_dir / "test-rsa-2048.pkcs8.pem").read_bytes())
    monkeypatch.setenv("HOME", str(tmp_path))
    assert same_public(rsa_public, load_key("~/k.pem"))


def test_encrypted_pem_with_passphrase(keys_dir: Path, passphrase: str, rsa_public) -> None:
    key = load_key(keys_dir / "test-rsa-2048.encrypted.pem", password=passphrase)
    assert same_public(rsa_public, key)
    key_bytes_pw = load_key(keys_dir / "test-rsa-2048.encrypted.pem", password=passphrase.encode())
    assert key_bytes_pw.sign(DATA, "RS256") == key.sign(DATA, "RS256")


def test_encrypted_pem_without_passphrase(keys_dir: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_key(keys_dir / "test-rsa-2048.encrypted.pem")
    assert info.value.code == "key_password_required"
    assert "key_password" in (info.value.hint or "")


def test_encrypted_pem_wrong_passphrase(keys_dir: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_key(keys_dir / "test-rsa-2048.encrypted.pem", password="not-the-passphrase")
    assert info.value.code == "invalid_key"
    assert "not-the-passphrase" not in str(info.value)


def test_passphrase_for_unencrypted_key_is_invalid_key(keys_dir: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_key(keys_dir / "test-rsa-2048.pkcs8.pem", password="x")
    assert info.value.code == "invalid_key"


def test_generated_rsa_key_from_pem(generated_rsa) -> None:
    pem = generated_rsa.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    key = load_key(pem)
    signature = key.sign(DATA, "PS256")
    verify_rsa(generated_rsa.public_key(), signature, "PS256")


def test_generated_encrypted_pem(generated_rsa) -> None:
    pem = generated_rsa.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"s3cret pass"),
    )
    assert same_public(generated_rsa.public_key(), load_key(pem, password="s3cret pass"))


@pytest.mark.parametrize(
    "value",
    [
        b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        "-----BEGIN RSA PRIVATE KEY-----\nnot base64 at all\n-----END RSA PRIVATE KEY-----\n",
        b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
        b"just some text\nwith a newline\n",
        b"",
    ],
)
def test_garbage_key_text_is_invalid_key(value: bytes | str) -> None:
    with pytest.raises(ConfigError) as info:
        load_key(value)
    assert info.value.code == "invalid_key"


@pytest.mark.parametrize("value", [12345, 3.5, None, ["a"]])
def test_unsupported_input_types(value: object) -> None:
    with pytest.raises(ConfigError) as info:
        load_key(value)  # type: ignore[arg-type]
    assert info.value.code == "invalid_key"


def test_unsupported_key_types_are_refused() -> None:
    ed = ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    p521 = ec.generate_private_key(ec.SECP521R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    for pem in (ed, p521):
        with pytest.raises(ConfigError) as info:
            load_key(pem)
        assert info.value.code == "invalid_key"


def test_missing_key_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.pem"
    for value in (missing, str(missing)):
        with pytest.raises(ConfigError) as info:
            load_key(value)
        assert info.value.code == "key_file_not_found"
        assert "nope.pem" in info.value.message


def test_directory_is_unreadable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_key(tmp_path)
    assert info.value.code == "key_file_unreadable"


@pytest.mark.parametrize("path", ["key\x00.pem", "\ud800"])
def test_nul_byte_in_key_path_is_a_config_error(path: str) -> None:
    with pytest.raises(ConfigError):
        load_key(path)


def test_deeply_nested_json_key_is_a_config_error() -> None:
    deep = '{"kty":' + "[" * 100_000 + "]" * 100_000 + "}"
    with pytest.raises(ConfigError):
        load_key(deep)


# --- JWK / JWKS ----------------------------------------------------------------------------------


def test_full_rsa_jwk_keystore_shape(keys_dir: Path, rsa_jwk: dict, rsa_public, rsa_private) -> None:
    assert list(rsa_jwk) == ["p", "kty", "q", "d", "e", "kid", "qi", "dp", "alg", "dq", "n"]
    for value in (keys_dir / "test-rsa-2048.jwk.json", rsa_jwk, json.dumps(rsa_jwk)):
        key = load_key(value)
        assert key.kind == "RSA"
        assert key.kid == "m2mauth-test-rsa-1"
        assert key.alg == "RS256"
        assert same_public(rsa_public, key)
        assert key.sign(DATA, "RS256") == rsa_private.sign(DATA, padding.PKCS1v15(), hashes.SHA256())


def test_rsa_jwk_with_only_n_e_d_recovers_primes(rsa_jwk: dict, rsa_private) -> None:
    minimal = {"kty": "RSA", "n": rsa_jwk["n"], "e": rsa_jwk["e"], "d": rsa_jwk["d"]}
    key = load_key(minimal)
    assert key.is_private
    assert key.kid is None
    assert key.sign(DATA, "RS256") == rsa_private.sign(DATA, padding.PKCS1v15(), hashes.SHA256())
    # The recovered key serialises to the same private key.
    pem = key.private_pem()
    reloaded = serialization.load_pem_private_key(pem, None)
    assert isinstance(reloaded, rsa.RSAPrivateKey)
    assert reloaded.private_numbers() == rsa_private.private_numbers()


def test_jwk_kid_argument_overrides(rsa_jwk: dict) -> None:
    assert load_key(rsa_jwk, kid="other").kid == "other"


def test_jwks_with_one_key(keys_dir: Path, rsa_public) -> None:
    key = load_key(keys_dir / "test-rsa-2048.jwks.json")
    assert key.kid == "m2mauth-test-rsa-1"
    assert same_public(rsa_public, key)


def test_jwks_with_several_keys_needs_kid(keys_dir: Path, rsa_jwk: dict, rsa_public, ec_public) -> None:
    ec_jwk = json.loads((keys_dir / "test-ec-p256.jwk.json").read_text(encoding="utf-8"))
    jwks = {"keys": [rsa_jwk, ec_jwk]}
    with pytest.raises(ConfigError) as info:
        load_key(jwks)
    assert info.value.code == "ambiguous_key"
    assert "key_id" in (info.value.hint or "")
    assert same_public(rsa_public, load_key(jwks, kid="m2mauth-test-rsa-1"))
    picked = load_key(json.dumps(jwks), kid="m2mauth-test-ec-1")
    assert picked.kind == "EC"
    assert same_public(ec_public, picked)
    with pytest.raises(ConfigError) as info:
        load_key(jwks, kid="no-such-kid")
    assert info.value.code == "invalid_key"


@pytest.mark.parametrize(
    "jwk",
    [
        {"kty": "RSA", "e": "AQAB"},
        {"kty": "RSA", "n": "", "e": "AQAB"},
        {"kty": "RSA", "n": 5, "e": "AQAB"},
        {"kty": "RSA", "n": "AQAB", "e": "AQAB", "d": "AQAB"},
        {"kty": "EC", "crv": "P-521", "x": "AA", "y": "AA"},
        {"kty": "EC", "crv": "P-256", "x": "AQ", "y": "AQ"},
        {"kty": "EC", "crv": ["P-256"], "x": "AQ", "y": "AQ"},
        {"kty": "oct"},
        {"kty": "OKP", "crv": "Ed25519", "x": "AA"},
        {"kty": None},
        {},
        {"keys": []},
        {"keys": "nope"},
        {"keys": [1, 2]},
    ],
)
def test_bad_jwks_are_invalid_key(jwk: dict) -> None:
    with pytest.raises(ConfigError) as info:
        load_key(jwk)
    assert info.value.code == "invalid_key"


def test_padded_jwk_member_is_invalid_base64(rsa_jwk: dict) -> None:
    # RFC 7518 §6.3.1: members are base64url without padding.
    with pytest.raises(ConfigError) as info:
        load_key({**rsa_jwk, "n": rsa_jwk["n"] + "=="})
    assert info.value.code == "invalid_base64"


@pytest.mark.parametrize("damage", ["!", " ", ".", "\n", "*", "\u00e9"])
def test_jwk_member_with_a_character_outside_base64url_is_refused(rsa_jwk: dict, damage: str) -> None:
    # PyJWT's own decoder drops such characters and would load a key from what is left.
    for member in ("n", "d", "p"):
        damaged = {**rsa_jwk, member: rsa_jwk[member][:30] + damage + rsa_jwk[member][30:]}
        with pytest.raises(ConfigError) as info:
            load_key(damaged)
        assert info.value.code == "invalid_base64"
        assert member in info.value.message
    if damage.isascii():  # what m2mauth's check prevents: PyJWT alone loads the damaged JWK as a key
        damaged = {**rsa_jwk, "d": rsa_jwk["d"][:30] + damage * 4 + rsa_jwk["d"][30:]}
        assert isinstance(jwt.algorithms.RSAAlgorithm.from_jwk(json.dumps(damaged)), rsa.RSAPrivateKey)
        with pytest.raises(ConfigError):
            load_key(damaged)


@pytest.mark.parametrize(
    "kept",
    [("p", "q"), ("p", "q", "dp"), ("p", "q", "dq", "qi"), ("p",), ("dp", "dq", "qi")],
    ids=["p-q", "p-q-dp", "p-q-dq-qi", "p-only", "crt-only"],
)
def test_rsa_private_jwk_with_some_crt_members_loads(rsa_jwk: dict, rsa_private, kept: tuple[str, ...]) -> None:
    # PyJWT refuses a JWK with only some of p, q, dp, dq, qi; m2mauth derives the rest.
    jwk = {"kty": "RSA", "n": rsa_jwk["n"], "e": rsa_jwk["e"], "d": rsa_jwk["d"], **{k: rsa_jwk[k] for k in kept}}
    key = load_key(jwk)
    assert key.sign(DATA, "RS256") == rsa_private.sign(DATA, padding.PKCS1v15(), hashes.SHA256())
    reloaded = serialization.load_pem_private_key(key.private_pem(), None)
    assert isinstance(reloaded, rsa.RSAPrivateKey)
    assert reloaded.private_numbers() == rsa_private.private_numbers()


def test_rsa_jwk_with_inconsistent_primes_is_invalid_key(rsa_jwk: dict) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_numbers()
    q = base64.urlsafe_b64encode(other.q.to_bytes(128, "big")).rstrip(b"=").decode()
    for jwk in ({**rsa_jwk, "q": q}, {k: v for k, v in {**rsa_jwk, "q": q}.items() if k not in ("dp", "dq", "qi")}):
        with pytest.raises(ConfigError) as info:
            load_key(jwk)
        assert info.value.code == "invalid_key"


def test_multi_prime_rsa_jwk_is_refused(rsa_jwk: dict) -> None:
    with pytest.raises(ConfigError) as info:
        load_key({**rsa_jwk, "oth": [{"r": "AQAB", "d": "AQAB", "t": "AQAB"}]})
    assert info.value.code == "invalid_key"
    assert "oth" in info.value.message


def _ec_key_with_short_x(curve: ec.EllipticCurve) -> ec.EllipticCurvePrivateKey:
    """A generated EC key whose x has a leading zero byte (about one key in 256)."""
    size = (curve.key_size + 7) // 8
    for _ in range(20_000):
        private = ec.generate_private_key(curve)
        if private.public_key().public_numbers().x < 1 << (8 * (size - 1)):
            return private
    raise AssertionError("no key with a leading zero byte in x")


@pytest.mark.parametrize(("curve", "size"), [(ec.SECP256R1(), 32), (ec.SECP384R1(), 48)])
def test_ec_coordinates_keep_their_leading_zero_bytes(curve: ec.EllipticCurve, size: int) -> None:
    private = _ec_key_with_short_x(curve)
    numbers = private.private_numbers()
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    public = load_key(pem).public_jwk()
    assert list(public) == ["kty", "crv", "x", "y", "alg"]
    assert len(base64.urlsafe_b64decode(public["x"] + "==")) == size  # RFC 7518 §6.2.1.2: full length

    def unpadded(value: int) -> str:
        return base64.urlsafe_b64encode(value.to_bytes((value.bit_length() + 7) // 8, "big")).rstrip(b"=").decode()

    # A JWK written without the leading zero (some encoders do) still loads, as the same key.
    stripped = {"kty": "EC", "crv": public["crv"], "x": unpadded(numbers.public_numbers.x), "y": public["y"],
                "d": unpadded(numbers.private_value)}
    assert len(stripped["x"]) < len(public["x"])
    key = load_key(stripped)
    assert key.public_jwk() == public
    token = m2mauth_sign({"sub": "x"}, key)
    assert jwt.decode(token, private.public_key(), algorithms=[key.default_algorithm]) == {"sub": "x"}


def test_ec_jwk_on_other_curves_or_too_long_is_refused(keys_dir: Path) -> None:
    source = json.loads((keys_dir / "test-ec-p256.jwk.json").read_text(encoding="utf-8"))
    for jwk in ({**source, "crv": "P-521"}, {**source, "crv": "secp256k1"}, {**source, "x": "AAAA" + source["x"]}):
        with pytest.raises(ConfigError) as info:
            load_key(jwk)
        assert info.value.code == "invalid_key"


def test_private_jwk_is_the_keystore_shape_and_loads_back(keys_dir: Path, rsa_jwk: dict, rsa_private) -> None:
    key = load_key(keys_dir / "test-rsa-2048.pkcs1.pem", kid="m2mauth-test-rsa-1")
    private = key.private_jwk()
    assert list(private) == ["p", "kty", "q", "d", "e", "kid", "qi", "dp", "alg", "dq", "n"]
    assert private == rsa_jwk  # the spec's keystore JWK, member for member
    assert load_key(private).sign(DATA, "RS256") == rsa_private.sign(DATA, padding.PKCS1v15(), hashes.SHA256())
    for name in ("test-rsa-2048.public.jwk.json", "test-ec-p256.jwk.json"):
        no_private = load_key(keys_dir / name)
        with pytest.raises(ConfigError) as info:
            no_private.private_jwk()
        assert info.value.code == "no_private_key"


@pytest.mark.parametrize("text", ['{"kty": "RSA", ', "[1, 2]\n", '{"a": 1}', "{\xff}", b'{"kty": "\xff"}', b"{}"])
def test_bad_json_text_is_invalid_key(text: str | bytes) -> None:
    with pytest.raises(ConfigError) as info:
        load_key(text)
    assert info.value.code == "invalid_key"


# --- EC ------------------------------------------------------------------------------------------


def test_ec_p256_pem_and_jwk(keys_dir: Path, ec_public) -> None:
    from_pem = load_key(keys_dir / "test-ec-p256.pkcs8.pem")
    from_jwk = load_key(keys_dir / "test-ec-p256.jwk.json")
    for key in (from_pem, from_jwk):
        assert key.kind == "EC"
        assert key.curve == "P-256"
        assert key.algorithms == ("ES256",)
        assert key.default_algorithm == "ES256"
        assert same_public(ec_public, key)
        verify_es256(ec_public, key.sign(DATA, "ES256"))
    assert from_jwk.kid == "m2mauth-test-ec-1"
    assert from_pem.kid is None
    assert from_pem.describe() == "EC P-256 private key"


def test_ec_public_jwk_members(keys_dir: Path) -> None:
    source = json.loads((keys_dir / "test-ec-p256.jwk.json").read_text(encoding="utf-8"))
    public = load_key(keys_dir / "test-ec-p256.jwk.json").public_jwk()
    assert public == {
        "kty": "EC",
        "crv": "P-256",
        "x": source["x"],
        "y": source["y"],
        "kid": "m2mauth-test-ec-1",
        "alg": "ES256",
    }
    assert "d" not in public


def test_generated_ec_key_signs_es256(generated_ec) -> None:
    pem = generated_ec.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    key = load_key(pem)
    verify_es256(generated_ec.public_key(), key.sign(DATA, "ES256"))
    with pytest.raises(InvalidSignature):
        verify_es256(ec.generate_private_key(ec.SECP256R1()).public_key(), key.sign(DATA, "ES256"))


# --- public keys ---------------------------------------------------------------------------------


def test_public_rsa_jwk_cannot_sign(keys_dir: Path) -> None:
    key = load_key(keys_dir / "test-rsa-2048.public.jwk.json")
    assert not key.is_private
    assert key.describe() == "RSA 2048-bit public key"
    with pytest.raises(ConfigError) as info:
        key.sign(DATA, "RS256")
    assert info.value.code == "public_key_only"
    with pytest.raises(ConfigError) as info:
        key.private_pem()
    assert info.value.code == "no_private_key"


def test_public_pem_cannot_sign(rsa_public, ec_public) -> None:
    for public, alg in ((rsa_public, "RS256"), (ec_public, "ES256")):
        pem = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        key = load_key(pem)
        assert not key.is_private
        assert same_public(public, key)
        with pytest.raises(ConfigError) as info:
            key.sign(DATA, alg)
        assert info.value.code == "public_key_only"


def test_public_ec_jwk_cannot_sign(keys_dir: Path) -> None:
    jwk = json.loads((keys_dir / "test-ec-p256.jwk.json").read_text(encoding="utf-8"))
    del jwk["d"]
    with pytest.raises(ConfigError) as info:
        load_key(jwk).sign(DATA, "ES256")
    assert info.value.code == "public_key_only"


# --- public_jwk ------------------------------------------------------------------------------------


def test_public_jwk_matches_registration_file(keys_dir: Path, rsa_public_jwk_text: str) -> None:
    expected = json.loads(rsa_public_jwk_text)
    for source in ("test-rsa-2048.jwk.json", "test-rsa-2048.jwks.json"):
        public = load_key(keys_dir / source).public_jwk()
        assert list(public) == ["kty", "e", "kid", "alg", "n"]
        assert public == expected
        assert list(public) == list(expected)


def test_public_jwk_from_pem_with_kid(keys_dir: Path, rsa_public_jwk_text: str) -> None:
    public = load_key(keys_dir / "test-rsa-2048.pkcs1.pem", kid="m2mauth-test-rsa-1").public_jwk()
    assert public == json.loads(rsa_public_jwk_text)
    no_kid = load_key(keys_dir / "test-rsa-2048.pkcs1.pem").public_jwk()
    assert list(no_kid) == ["kty", "e", "alg", "n"]


def test_public_jwk_loads_back_in_pyjwt(keys_dir: Path, rsa_public) -> None:
    public = load_key(keys_dir / "test-rsa-2048.pkcs8.pem").public_jwk()
    loaded = jwt.algorithms.RSAAlgorithm.from_jwk(json.dumps(public))
    assert isinstance(loaded, rsa.RSAPublicKey)
    assert loaded.public_numbers() == rsa_public.public_numbers()


def test_secret_has_no_public_jwk(hmac_secret: str) -> None:
    with pytest.raises(ConfigError) as info:
        secret_key(hmac_secret).public_jwk()
    assert info.value.code == "no_public_key"
