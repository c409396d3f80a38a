"""PyJWT computes every signature and converts every JWK; m2mauth keeps the rules in front of it.

Checked here: the published RFC vectors still reproduce byte for byte through PyJWT; the key
family check refuses what PyJWT alone would sign; PyJWT is loaded by the first signature, not by
``import m2mauth`` (fresh interpreters); no module of the package computes a signature with
``cryptography`` itself; and no PyJWT error text, nor any private member of a JWK, reaches a user.
"""

from __future__ import annotations

import ast
import base64
import json
import re
import subprocess
import sys
import traceback
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from m2mauth import ConfigError, jwa, jws, load_key, secret_key

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "python" / "m2mauth"
PUBLISHED = sorted((ROOT / "spec" / "vectors" / "published").glob("*.json"))
DATA = b"eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJtMm1hdXRoIn0"


def b64url_int(value: int, size: int | None = None) -> str:
    raw = value.to_bytes(size or (value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


# --- part 1: signatures through PyJWT -------------------------------------------------------------


@pytest.mark.parametrize("path", PUBLISHED, ids=[p.stem for p in PUBLISHED])
def test_published_rfc_vectors_reproduce_through_pyjwt(path: Path) -> None:
    """RFC 7515 A.1 (CRLF inside the header), A.2, RFC 7520 §4.1 and §4.4: the given signing input is signed."""
    data = json.loads(path.read_text(encoding="utf-8"))
    group = data["testGroups"][0]
    key = load_key(group["key"]["jwk"])  # the JWK goes through PyJWT's from_jwk too
    for test in group["tests"]:
        signing_input = test["intermediate"]["signingInput"]
        assert signing_input.split(".")[0] == jws.b64url_encode(test["intermediate"]["header"].encode("utf-8"))
        assert jws.sign(signing_input, key, test["input"]["alg"]) == test["expected"]["jws"]
        head, body, signature = test["expected"]["jws"].split(".")
        assert key.verify(f"{head}.{body}".encode("ascii"), jws.b64url_decode(signature), test["input"]["alg"])


# Newer PyJWT releases' jwt.decode() (the check here, not m2mauth's signing) warns that the 50-byte test
# secret is shorter than SHA-512's output; the signature comparison is what this test is about.
@pytest.mark.filterwarnings("ignore:The HMAC key is")
@pytest.mark.parametrize("alg", ["RS256", "RS384", "RS512", "HS256", "HS384", "HS512"])
def test_deterministic_signatures_are_pyjwts_over_our_signing_input(alg: str, keys_dir: Path, rsa_private,
                                                                    hmac_secret: str) -> None:
    if alg.startswith("RS"):
        key, material, public = load_key(keys_dir / "test-rsa-2048.pkcs1.pem"), rsa_private, rsa_private.public_key()
    else:
        key, material, public = secret_key(hmac_secret), hmac_secret.encode(), hmac_secret.encode()
    claims = {"iss": "m2mauth", "iat": 1_767_225_600}
    token = jws.compact({"alg": alg, "typ": "JWT"}, claims, key)
    head, body, signature = token.split(".")
    pyjwt_algorithm = jwt.algorithms.get_default_algorithms()[alg]
    assert jws.b64url_decode(signature) == pyjwt_algorithm.sign(f"{head}.{body}".encode(), material)
    assert jwt.decode(token, public, algorithms=[alg]) == claims


@pytest.mark.parametrize(("curve", "alg", "size"), [(ec.SECP256R1(), "ES256", 32), (ec.SECP384R1(), "ES384", 48)])
def test_ecdsa_signatures_are_raw_r_s_and_verify_in_pyjwt(curve: ec.EllipticCurve, alg: str, size: int) -> None:
    private = ec.generate_private_key(curve)
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    key = load_key(pem)
    assert key.default_algorithm == alg
    token = jws.compact({"alg": alg}, {"sub": "x"}, key)
    assert len(jws.b64url_decode(token.split(".")[2])) == 2 * size
    assert jwt.decode(token, private.public_key(), algorithms=[alg]) == {"sub": "x"}


@pytest.mark.parametrize("alg", ["PS256", "PS384", "PS512"])
def test_pss_signatures_verify_in_pyjwt(alg: str, keys_dir: Path, rsa_public) -> None:
    token = jws.compact({"alg": alg}, {"sub": "x"}, load_key(keys_dir / "test-rsa-2048.pkcs8.pem"))
    assert jwt.decode(token, rsa_public, algorithms=[alg]) == {"sub": "x"}


def test_family_check_refuses_what_pyjwt_alone_would_sign(keys_dir: Path, hmac_secret: str) -> None:
    pem = (keys_dir / "test-rsa-2048.pkcs8.pem").read_bytes()
    p384 = ec.generate_private_key(ec.SECP384R1())
    cases: list[tuple[Any, str]] = [
        (load_key(pem), "HS256"),  # the CLMS mistake: the PEM as an HMAC password
        (secret_key(hmac_secret), "RS256"),
        (load_key(p384.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption())), "ES256"),
    ]
    for key, alg in cases:
        for attempt in ("sign", "jws.sign", "compact"):
            with pytest.raises(ConfigError) as info:
                if attempt == "sign":
                    key.sign(DATA, alg)
                elif attempt == "jws.sign":
                    jws.sign(DATA.decode(), key, alg)
                else:
                    jws.compact({"alg": alg}, {}, key)
            assert info.value.code == "key_algorithm_mismatch", attempt
            assert info.value.hint
        assert not key.verify(DATA, b"\0" * 64, alg)
    # Why the check must come first: PyJWT's algorithm objects sign with the PEM bytes as an HMAC key...
    assert len(jwt.algorithms.get_default_algorithms()["HS256"].sign(DATA, pem)) == 32
    assert len(jwt.algorithms.get_default_algorithms()["ES256"].sign(DATA, p384)) == 96  # and ES256 with P-384


def test_a_public_key_cannot_sign(keys_dir: Path) -> None:
    public = load_key(keys_dir / "test-rsa-2048.public.jwk.json")
    with pytest.raises(ConfigError) as info:
        public.sign(DATA, "RS256")
    assert info.value.code == "public_key_only"


def test_algorithm_table_is_pyjwts_and_not_the_global_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """A program that unregisters RS256 from PyJWT's global PyJWS does not change what m2mauth signs with."""
    implementation = jwa.algorithm("RS256")
    assert type(implementation).__module__ == "jwt.algorithms"
    assert {type(jwa.algorithm(name)).__name__ for name in jwa.SUPPORTED} == {
        "RSAAlgorithm", "RSAPSSAlgorithm", "ECAlgorithm", "HMACAlgorithm",
    }
    with pytest.raises(ConfigError) as info:
        jwa.algorithm("none")
    assert info.value.code == "unsupported_algorithm"
    with pytest.raises(ConfigError) as info:
        jwa.algorithm("EdDSA")
    assert info.value.code == "unsupported_algorithm"


def test_a_signing_failure_is_an_m2mauth_error_without_library_text() -> None:
    # A key object of the wrong kind handed to the algorithm: cryptography raises; m2mauth reports.
    with pytest.raises(ConfigError) as info:
        jwa.sign("RS256", DATA, ec.generate_private_key(ec.SECP256R1()))
    assert info.value.code == "signing_failed"
    assert info.value.__context__ is None and info.value.__cause__ is None
    assert not jwa.verify("ES256", DATA, b"short", ec.generate_private_key(ec.SECP256R1()).public_key())


# --- part 5: PyJWT loads with the first signature, not with the package ---------------------------

LAZY = """
import sys
import m2mauth
assert "jwt" not in sys.modules, "import m2mauth loaded PyJWT"
key = m2mauth.load_key(sys.argv[1]) if sys.argv[1] != "secret" else m2mauth.secret_key("s3cret")
assert "jwt" not in sys.modules, "loading a PEM or a secret loaded PyJWT"
token = m2mauth.sign_jwt({"a": 1}, key)
assert "jwt" in sys.modules, "the signature did not go through PyJWT"
print(token.count("."))
"""


@pytest.mark.parametrize("key", ["test-rsa-2048.pkcs8.pem", "test-ec-p256.pkcs8.pem", "secret"])
def test_import_is_lazy_and_signing_loads_pyjwt(key: str, keys_dir: Path) -> None:
    argument = str(keys_dir / key) if key != "secret" else key
    done = subprocess.run([sys.executable, "-c", LAZY, argument], capture_output=True, text=True, timeout=60,
                          check=False, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "2"


# --- part 1 / 5: nothing in the package signs with cryptography itself -----------------------------

#: Names that compute or check a signature with cryptography (or the stdlib's hmac) directly.
SIGNING_NAMES = {"ECDSA", "PKCS1v15", "PSS", "MGF1", "decode_dss_signature", "encode_dss_signature", "HMAC"}
SIGNING_MODULES = {"cryptography.hazmat.primitives.asymmetric.padding",
                   "cryptography.hazmat.primitives.asymmetric.utils", "cryptography.hazmat.primitives.hmac"}


def signing_uses(path: Path) -> list[str]:
    """Where a module signs with cryptography: signing names used, signing modules imported, .sign() on keys."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names = {alias.name for alias in node.names}
            if node.module in SIGNING_MODULES or (node.module.startswith("cryptography") and names & SIGNING_NAMES):
                found.append(f"line {node.lineno}: from {node.module} import {', '.join(sorted(names))}")
            if node.module.endswith("asymmetric") and names & {"padding", "utils"}:
                found.append(f"line {node.lineno}: from {node.module} import {', '.join(sorted(names))}")
        elif isinstance(node, ast.Import):
            found += [f"line {node.lineno}: import {a.name}" for a in node.names if a.name in SIGNING_MODULES]
        elif isinstance(node, ast.Attribute) and node.attr in SIGNING_NAMES:
            found.append(f"line {node.lineno}: .{node.attr}")
        elif isinstance(node, ast.Name) and node.id in SIGNING_NAMES:
            found.append(f"line {node.lineno}: {node.id}")
    return found


def test_no_module_outside_testing_signs_with_cryptography_directly(tmp_path: Path) -> None:
    modules = [p for p in PACKAGE.rglob("*.py") if "testing" not in p.relative_to(PACKAGE).parts]
    assert PACKAGE / "keys.py" in modules and PACKAGE / "jwa.py" in modules
    offenders = {str(p.relative_to(PACKAGE)): uses for p in modules if (uses := signing_uses(p))}
    assert offenders == {}
    # The check finds what it looks for: the way keys.py signed before PyJWT did.
    sample = tmp_path / "signer.py"
    sample.write_text(
        "from cryptography.hazmat.primitives.asymmetric import ec, padding\n"
        "from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature\n"
        "def sign(key, data, h):\n    return decode_dss_signature(key.sign(data, ec.ECDSA(h))), padding.PKCS1v15()\n",
        encoding="utf-8",
    )
    assert len(signing_uses(sample)) >= 4


# --- part 3: no PyJWT text and no private member reaches the user ---------------------------------


def broken_jwks(private: rsa.RSAPrivateKey) -> dict[str, dict[str, Any]]:
    numbers = private.private_numbers()
    full = {
        "kty": "RSA", "n": b64url_int(numbers.public_numbers.n), "e": b64url_int(numbers.public_numbers.e),
        "d": b64url_int(numbers.d), "p": b64url_int(numbers.p), "q": b64url_int(numbers.q),
        "dp": b64url_int(numbers.dmp1), "dq": b64url_int(numbers.dmq1), "qi": b64url_int(numbers.iqmp),
    }
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_numbers()
    return {
        "d-of-another-key": {**full, "d": b64url_int(other.d)},
        "p-q-of-another-key": {**full, "p": b64url_int(other.p), "q": b64url_int(other.q)},
        "d-without-primes-of-another-key": {k: full[k] for k in ("kty", "n", "e")} | {"d": b64url_int(other.d)},
        "bad-character-in-d": {**full, "d": full["d"][:20] + "!" + full["d"][21:]},
        "padded-d": {**full, "d": full["d"] + "="},
        "space-in-n": {**full, "n": full["n"][:10] + " " + full["n"][10:]},
        "oth": {**full, "oth": [{"r": full["p"], "d": full["dp"], "t": full["qi"]}]},
        "d-as-number": {**full, "d": numbers.d},
        "ec-with-rsa-members": {**full, "kty": "EC", "crv": "P-256"},
        "ec-d-too-long": {"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA", "d": full["d"]},
        "oct-bad-k": {"kty": "oct", "k": full["d"] + "*"},
        "okp": {"kty": "OKP", "crv": "Ed25519", "x": full["n"][:43], "d": full["d"][:43]},
    }


def test_jwk_errors_carry_no_key_material_and_no_library_text() -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    numbers = private.private_numbers()
    secrets_ = {b64url_int(n) for n in (numbers.d, numbers.p, numbers.q, numbers.dmp1, numbers.dmq1, numbers.iqmp)}
    secrets_ |= {str(numbers.d), format(numbers.d, "x")}
    for name, jwk_value in broken_jwks(private).items():
        for given in (jwk_value, json.dumps(jwk_value), {"keys": [jwk_value]}):
            with pytest.raises(ConfigError) as info:
                load_key(given)
            err = info.value
            assert err.code in {"invalid_key", "invalid_base64"}, (name, err.code)
            assert err.__cause__ is None and (err.__context__ is None or err.__suppress_context__), name
            shown = " ".join([str(err), repr(err), repr(vars(err)),
                              "".join(traceback.format_exception(type(err), err, err.__traceback__))])
            for secret in secrets_:
                assert secret[:24] not in shown, f"{name}: private member in the error"
            for pyjwt_word in ("InvalidKeyError", "PyJWT", "jwt.", "Coords should", "must include all", "Not an RSA"):
                assert pyjwt_word not in shown, name


# --- part 4: the floor is stated once and checked ----------------------------------------------------


def test_pyjwt_floor_in_pyproject_is_the_one_nox_tests() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    pins = re.findall(r'^\s*"pyjwt(?:\[[a-z]+\])?>=([0-9.]+)"', pyproject, flags=re.MULTILINE)
    noxfile = (ROOT / "noxfile.py").read_text(encoding="utf-8")
    floor = re.search(r'^PYJWT_FLOOR = "([0-9.]+)"', noxfile, flags=re.MULTILINE)
    assert floor is not None and pins == [floor.group(1)]
    assert re.search(r'nox\.options\.sessions = \[[^\]]*"tests_pyjwt_floor"', noxfile)
    installed = tuple(int(part) for part in jwt.__version__.split(".")[:3])
    assert installed >= tuple(int(part) for part in floor.group(1).split("."))


# --- part 5: the second implementation stays independent ------------------------------------------


def test_spec_verifier_runs_without_m2mauth_or_pyjwt() -> None:
    probe = (
        "import runpy, sys\n"
        "sys.argv = ['verify_vectors.py']\n"
        "try:\n    runpy.run_path('spec/verify/verify_vectors.py', run_name='__main__')\n"
        "except SystemExit as end:\n    code = end.code\n"
        "else:\n    code = 0\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('m2mauth', 'jwt'))\n"
        "print('LOADED', loaded)\n"
        "sys.exit(code)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=False,
                          cwd=ROOT)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "LOADED []" in done.stdout
    assert "0 failed" in done.stdout


# --- part 2: `m2mauth keygen` writes its JWKs through the same export -------------------------------


def test_keygen_writes_the_jwks_keys_exports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from m2mauth.cli import main

    assert main(["keygen", "--kid", "svc-1", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr()
    pem = (tmp_path / "svc-1.private.pem").read_bytes()
    keystore = json.loads((tmp_path / "svc-1.keystore.jwk.json").read_text(encoding="utf-8"))
    public = json.loads((tmp_path / "svc-1.public.jwk.json").read_text(encoding="utf-8"))
    key = load_key(pem, kid="svc-1")
    assert keystore == key.private_jwk() and list(keystore) == list(key.private_jwk())
    assert public == key.public_jwk() == json.loads(printed.out) and list(public) == list(key.public_jwk())
    assert keystore["d"] not in printed.out + printed.err
    private = serialization.load_pem_private_key(pem, None)
    assert isinstance(private, rsa.RSAPrivateKey)
    numbers = private.private_numbers()
    assert keystore["d"] == b64url_int(numbers.d) and keystore["qi"] == b64url_int(numbers.iqmp)
    reloaded = load_key(keystore)  # the keystore JWK loads back (through PyJWT) as the same key
    assert reloaded.sign(DATA, "RS256") == key.sign(DATA, "RS256")
    assert reloaded.kid == "svc-1" and reloaded.default_algorithm == "RS256"
