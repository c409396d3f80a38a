"""Benchmark 4: RS256 assertions per second against raw PyJWT signing.

A. The same loaded RSA 2048 key object (``m2mauth.load_key`` once; PyJWT gets the
   ``cryptography`` key inside it) signs a fresh claim set (iss, sub, aud, iat, exp, jti) per
   call: ``jwt.encode(claims, key, algorithm="RS256")`` (the baseline), ``m2mauth.make_assertion``,
   ``m2mauth.sign_jwt`` and a whole plan build, ``m2mauth.build_request("generic",
   flow="jwt_bearer", private_key=<loaded Key>)``. Batches interleaved in shuffled rounds; the
   ratio is baseline time / variant time in the same round (assertions per second relative to
   PyJWT).
B. The path CLMS users hit: ``m2mauth.build_request("clms", service_key=...)`` with the service
   key as a mapping or a path. It reads the PEM on every call (a ServiceKey object is not
   accepted, see the notes), so it is compared with what the CLMS documentation's PyJWT example
   does: ``jwt.encode(claims, service_key["private_key"], algorithm="RS256")`` with the PEM text.
"""

from __future__ import annotations

import json
import secrets
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwt
from _common import Section, Verdict, interleaved, median, ratio_text
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

CLMS_TOKEN_URI = "https://land.copernicus.eu/@@oauth2-token"
PLAN_BY_NAME = "m2mauth.build_request('generic', jwt_bearer, loaded Key)"
PLAN_BY_PROFILE = "m2mauth.build_request(loaded Profile, jwt_bearer, loaded Key)"


def _service_key() -> dict[str, str]:
    """A CLMS-shaped service key with a fresh RSA 2048 key (PKCS#1 PEM, as CLMS hands them out)."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    ).decode("ascii")
    return {
        "client_id": secrets.token_hex(16),
        "user_id": "benchuser",
        "token_uri": CLMS_TOKEN_URI,
        "key_id": secrets.token_hex(16),
        "title": "m2mauth benchmark key (not a real credential)",
        "private_key": pem,
    }


def _claims(service_key: dict[str, str]) -> dict[str, Any]:
    now = int(time.time())
    return {
        "iss": service_key["client_id"],
        "sub": service_key["user_id"],
        "aud": service_key["token_uri"],
        "iat": now,
        "exp": now + 3600,
        "jti": secrets.token_urlsafe(24),
    }


def _batch(call: Callable[[], Any], count: int) -> Callable[[], None]:
    def run() -> None:
        for _ in range(count):
            call()

    return run


def run(quick: bool) -> Section:
    import m2mauth

    section = Section(
        4,
        "RS256 assertions per second",
        "Batches of signatures in a random order each round; ratio = PyJWT time / variant time in the same "
        "round (above 1: faster than PyJWT), median over rounds with a 95 % confidence interval.",
    )
    service_key = _service_key()
    key = m2mauth.load_key(service_key["private_key"])
    key_object = key._private  # the very cryptography key object m2mauth signs with
    assert key_object is not None
    sk = service_key

    def pyjwt() -> str:
        return jwt.encode(_claims(sk), key_object, algorithm="RS256")

    def make_assertion() -> str:
        return m2mauth.make_assertion(
            key, issuer=sk["client_id"], subject=sk["user_id"], audience=sk["token_uri"], with_jti=True
        ).jwt

    def sign_jwt() -> str:
        return m2mauth.sign_jwt(_claims(sk), key)

    def plan() -> Any:
        return m2mauth.build_request(
            "generic", flow="jwt_bearer", client_id=sk["client_id"], private_key=key, token_url=sk["token_uri"]
        )

    generic = m2mauth.load_profile("generic")

    def plan_loaded_profile() -> Any:
        return m2mauth.build_request(
            generic, flow="jwt_bearer", client_id=sk["client_id"], private_key=key, token_url=sk["token_uri"]
        )

    # Every variant must produce a token PyJWT verifies with the public key.
    public = key_object.public_key()
    for produced in (pyjwt(), make_assertion(), sign_jwt(), plan().assertion.jwt, plan_loaded_profile().assertion.jwt):
        jwt.decode(produced, public, algorithms=["RS256"], audience=sk["token_uri"])

    batch, rounds = (4, 40) if quick else (4, 200)
    loaded = {
        "PyJWT jwt.encode (loaded key)": _batch(pyjwt, batch),
        "m2mauth.make_assertion": _batch(make_assertion, batch),
        "m2mauth.sign_jwt": _batch(sign_jwt, batch),
        PLAN_BY_NAME: _batch(plan, batch),
        PLAN_BY_PROFILE: _batch(plan_loaded_profile, batch),
    }
    times, ratios = interleaved(loaded, rounds, baseline="PyJWT jwt.encode (loaded key)")
    rows = []
    for name in loaded:
        per_second = batch / median(times[name])
        speed = [1 / r for r in ratios[name]]
        rows.append([name, f"{per_second:.0f}", ratio_text(speed, 3)])
    section.table(["A. loaded key, per call", "assertions / s", "relative to PyJWT"], rows)

    with tempfile.TemporaryDirectory(prefix="m2mauth-bench-") as folder:
        path = Path(folder) / "service-key.json"
        path.write_text(json.dumps(service_key), encoding="utf-8")
        path.chmod(0o600)

        def pyjwt_pem() -> str:
            return jwt.encode(_claims(sk), sk["private_key"], algorithm="RS256")

        def clms_mapping() -> Any:
            return m2mauth.build_request("clms", service_key=sk)

        def clms_path() -> Any:
            return m2mauth.build_request("clms", service_key=str(path))

        jwt.decode(clms_path().assertion.jwt, public, algorithms=["RS256"], audience=CLMS_TOKEN_URI)
        small, few = (1, 6) if quick else (2, 16)
        user = {
            "PyJWT jwt.encode (PEM text)": _batch(pyjwt_pem, small),
            "m2mauth.build_request('clms', service_key=dict)": _batch(clms_mapping, small),
            "m2mauth.build_request('clms', service_key=path)": _batch(clms_path, small),
        }
        user_times, user_ratios = interleaved(user, few, baseline="PyJWT jwt.encode (PEM text)")
    user_rows = []
    for name in user:
        speed = [1 / r for r in user_ratios[name]]
        user_rows.append([name, f"{small / median(user_times[name]):.1f}", ratio_text(speed, 3)])
    per_clms_call = median(user_times["m2mauth.build_request('clms', service_key=dict)"]) / small
    per_loaded_call = median(times[PLAN_BY_PROFILE]) / batch
    pem_vs_loaded = per_clms_call / per_loaded_call
    section.table(
        ["B. key read from PEM on every call", "assertions / s", "relative to PyJWT with PEM text"], user_rows
    )

    def speed_of(name: str) -> float:
        return median([1 / r for r in ratios[name]])

    signing = ("m2mauth.make_assertion", "m2mauth.sign_jwt")
    worst = min(speed_of(name) for name in signing)
    section.verdicts.append(
        Verdict(
            "RS256 assertions >= 0.95x raw PyJWT signing (same loaded key)",
            f"make_assertion {speed_of(signing[0]):.3f}x, sign_jwt {speed_of(signing[1]):.3f}x",
            worst >= 0.95,
            "the RSA signature dominates; m2mauth builds claims and base64url as PyJWT does",
        )
    )
    by_name, by_profile = PLAN_BY_NAME, PLAN_BY_PROFILE
    section.verdicts.append(
        Verdict(
            "plan build (build_request with a loaded Key) >= 0.95x raw PyJWT signing",
            f"profile by name {speed_of(by_name):.3f}x; loaded Profile {speed_of(by_profile):.3f}x",
            min(speed_of(by_name), speed_of(by_profile)) >= 0.95,
            "load_profile(name) lists and resolves the spec folder on every call (profiles.list_profiles); "
            "with a loaded Profile, as TokenSource passes, the plan costs little more than the signature"
            if speed_of(by_name) < 0.95
            else "claim building, client auth and form encoding are small beside the signature",
        )
    )
    clms = median([1 / r for r in user_ratios["m2mauth.build_request('clms', service_key=dict)"]])
    section.verdicts.append(
        Verdict(
            "(reported) CLMS plan build from a service key, PEM read per call",
            f"{clms:.3f}x PyJWT with PEM text; one such call costs as much as {pem_vs_loaded:.0f} plans built "
            "with a loaded Key",
            None,
            "both sides parse the PEM on every call; no target of its own",
            reported=True,
        )
    )
    try:
        m2mauth.build_request("clms", service_key=m2mauth.load_service_key(sk))
        accepted = "accepted"
    except Exception as error:
        accepted = f"refused with {type(error).__name__}: {error}"
    section.notes.append(
        "build_request('clms', service_key=...) loads the RSA key from its PEM on every call (cryptography checks "
        "the key as it loads it), so a program that builds many plans pays that each time. A loaded "
        f"m2mauth.ServiceKey object, the obvious way to avoid it, is {accepted}. TokenSource builds one plan per "
        "token request (once per token lifetime), so Auth and session() pay it once an hour, not per request."
    )
    return section
