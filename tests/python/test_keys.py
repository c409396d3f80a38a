"""Key loading, algorithm families, signing (checked with cryptography / PyJWT), repr and pickling."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import pickle
from pathlib import Path

import jwt
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from m2mauth import ConfigError, Key, ServiceKey, load_key, load_service_key, secret_key
from m2mauth import sign_jwt as m2mauth_sign

RSA_ALGS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512")
HMAC_ALGS = ("HS256", "HS384", "HS512")
HASHES = {"256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512}
HASHLIB = {"256": hashlib.sha256, "384": hashlib.sha384, "512": hashlib.sha512}
DATA = b"eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJtMm1hdXRoIn0"


def same_public(a: rsa.RSAPublicKey | ec.EllipticCurvePublicKey, key: Key) -> bool:
    """True when the m2mauth key has exactly this public key (compared as SubjectPublicKeyInfo DER)."""
    der = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    jwk = key.public_jwk()
    if jwk["kty"] == "RSA":
        theirs = rsa.RSAPublicNumbers(
            int.from_bytes(jwt.utils.base64url_decode(jwk["e"]), "big"),
            int.from_bytes(jwt.utils.base64url_decode(jwk["n"]), "big"),
        ).public_key()
    else:
        theirs = ec.EllipticCurvePublicNumbers(
            int.from_bytes(jwt.utils.base64url_decode(jwk["x"]), "big"),
            int.from_bytes(jwt.utils.base64url_decode(jwk["y"]), "big"),
            ec.SECP256R1(),
        ).public_key()
    return a.public_bytes(*der) == theirs.public_bytes(*der)


def verify_rsa(public: rsa.RSAPublicKey, signature: bytes, alg: str) -> None:
    h = HASHES[alg[2:]]()
    pad: padding.AsymmetricPadding
    if alg.startswith("PS"):
        pad = padding.PSS(mgf=padding.MGF1(h), salt_length=h.digest_size)
    else:
        pad = padding.PKCS1v15()
    public.verify(signature, DATA, pad, h)


def verify_es256(public: ec.EllipticCurvePublicKey, signature: bytes) -> None:
    assert len(signature) == 64, "ES256 signatures are raw r||s, 32 bytes each"
    der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
    public.verify(der, DATA, ec.ECDSA(hashes.SHA256()))


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


# --- service keys --------------------------------------------------------------------------------


def test_service_key_from_path_text_and_mapping(keys_dir: Path, rsa_private) -> None:
    path = keys_dir / "test-clms-service-key.json"
    text = path.read_text(encoding="utf-8")
    for value in (path, str(path), text, text.encode("utf-8"), json.loads(text)):
        service = load_service_key(value)
        assert isinstance(service, ServiceKey)
        assert service.client_id == "m2mauth-test-client-0f3a"
        assert service.user_id == "m2mauth-test-user"
        assert service.token_uri == "https://land.copernicus.eu/@@oauth2-token"
        assert service.key_id == "m2mauth-test-key-1"
        assert service.title == "m2mauth TEST service key (not a real credential)"
        assert service.key.kind == "RSA"
        assert service.key.sign(DATA, "RS256") == rsa_private.sign(DATA, padding.PKCS1v15(), hashes.SHA256())


def test_service_key_repr_hides_private_key(keys_dir: Path) -> None:
    service = load_service_key(keys_dir / "test-clms-service-key.json")
    text = repr(service)
    assert "PRIVATE" not in text
    assert "MIIE" not in text
    assert "m2mauth-test-client-0f3a" in text


def test_service_key_json_via_load_key(keys_dir: Path, rsa_public) -> None:
    key = load_key(keys_dir / "test-clms-service-key.json")
    assert same_public(rsa_public, key)
    assert load_key(keys_dir / "test-clms-service-key.json", kid="x").kid == "x"


def test_service_key_missing_fields_are_named(keys_dir: Path) -> None:
    data = json.loads((keys_dir / "test-clms-service-key.json").read_text(encoding="utf-8"))
    del data["user_id"]
    data["private_key"] = ""
    with pytest.raises(ConfigError) as info:
        load_service_key(data)
    assert info.value.code == "missing_field"
    assert "user_id" in info.value.message
    assert "private_key" in info.value.message
    assert "client_id" not in info.value.message
    with pytest.raises(ConfigError) as info:
        load_service_key({})
    for name in ("client_id", "user_id", "token_uri", "private_key"):
        assert name in info.value.message


def test_service_key_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_service_key(tmp_path / "land-copernicus.json")
    assert info.value.code == "key_file_not_found"
    with pytest.raises(ConfigError) as info:
        load_service_key(str(tmp_path / "land-copernicus.json"))
    assert info.value.code == "key_file_not_found"


@pytest.mark.parametrize("value", ["{not json", b"[1, 2]", b"\xff\xfe", '"text"'])
def test_service_key_bad_json(value: str | bytes, tmp_path: Path) -> None:
    if isinstance(value, str) and not value.startswith("{"):
        path = tmp_path / "key.json"
        path.write_text(value, encoding="utf-8")
        value = str(path)
    with pytest.raises(ConfigError) as info:
        load_service_key(value)
    assert info.value.code == "invalid_service_key"


def test_service_key_with_an_encrypted_private_key(keys_dir: Path, passphrase: str, rsa_private) -> None:
    data = json.loads((keys_dir / "test-clms-service-key.json").read_text(encoding="utf-8"))
    data["private_key"] = (keys_dir / "test-rsa-2048.encrypted.pem").read_text(encoding="ascii")
    service = load_service_key(data, password=passphrase)
    assert service.key.sign(DATA, "RS256") == rsa_private.sign(DATA, padding.PKCS1v15(), hashes.SHA256())
    with pytest.raises(ConfigError) as info:
        load_service_key(data)
    assert info.value.code == "key_password_required"
    with pytest.raises(ConfigError) as info:
        load_service_key(data, password=passphrase + "x")
    assert info.value.code == "invalid_key"


def test_service_key_with_ec_key_is_refused(keys_dir: Path) -> None:
    data = json.loads((keys_dir / "test-clms-service-key.json").read_text(encoding="utf-8"))
    data["private_key"] = (keys_dir / "test-ec-p256.pkcs8.pem").read_text(encoding="ascii")
    with pytest.raises(ConfigError) as info:
        load_service_key(data)
    assert info.value.code == "key_algorithm_mismatch"


def test_service_key_private_key_is_never_a_path(keys_dir: Path) -> None:
    data = json.loads((keys_dir / "test-clms-service-key.json").read_text(encoding="utf-8"))
    data["private_key"] = "not-a-key"
    with pytest.raises(ConfigError) as info:
        load_service_key(data)
    assert info.value.code in ("invalid_key", "invalid_service_key")


@pytest.mark.parametrize("path", ["key\x00.json", "\ud800"])
def test_service_key_nul_path(path: str) -> None:
    with pytest.raises(ConfigError):
        load_service_key(path)


def test_service_key_deep_json() -> None:
    with pytest.raises(ConfigError):
        load_service_key('{"a":' + "[" * 100_000 + "]" * 100_000 + "}")


def test_unknown_user_home_in_key_path() -> None:
    with pytest.raises(ConfigError) as info:
        load_key("~m2mauth-no-such-user/key.pem")
    assert info.value.code in ("key_file_not_found", "key_file_unreadable")


def test_unknown_user_home_in_service_key_path() -> None:
    with pytest.raises(ConfigError) as info:
        load_service_key("~m2mauth-no-such-user/land-copernicus.json")
    assert info.value.code in ("key_file_not_found", "key_file_unreadable")
