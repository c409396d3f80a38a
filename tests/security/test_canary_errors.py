"""Secrets never leak (issue 5, part 4): every error path, JWK loading errors and urllib3's DEBUG log.

The canary run is described in canary_values.py; the world and watch fixtures are in conftest.py.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from canary_credentials import CLOSED, ce_client, generic_secret, one_line_key_body
from canary_values import b64url_int
from canary_watch import Watch, use
from canary_world import QUICK, TIMEOUT, World, private_file
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

import m2mauth

# -- every error path ----------------------------------------------------------------------------


def oa_personal(w: World, refresh_token: str, url: str | None = None, keep: bool = True) -> m2mauth.Token:
    return m2mauth.fetch_token("openaire", refresh_token=refresh_token, timeout=TIMEOUT, keep_refresh_token=keep,
                               token_url=url or w.url("openaire", "personal_refresh"))


def oa_source(w: World, refresh_token: str, timeout: float = TIMEOUT) -> m2mauth.Token:
    return m2mauth.TokenSource("openaire", refresh_token=refresh_token, timeout=timeout, retry=QUICK,
                               token_url=w.url("openaire", "personal_refresh")).token()


def generic_fetch(w: World, timeout: float = TIMEOUT, **changes: Any) -> m2mauth.Token:
    return m2mauth.fetch_token("generic", timeout=timeout, **{**generic_secret(w), **changes})


def generic_source(w: World, timeout: float = TIMEOUT) -> m2mauth.Token:
    return m2mauth.TokenSource("generic", timeout=timeout, retry=QUICK, **generic_secret(w)).token()


def clms_with_other_key(w: World) -> m2mauth.Token:
    other = serialization.load_pem_private_key(w.c.other_pem.encode(), None)
    pkcs1 = other.private_bytes(  # type: ignore[union-attr]
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    ).decode()
    return m2mauth.fetch_token("clms", service_key={**w.service_key, "private_key": pkcs1}, timeout=TIMEOUT)


def unregistered_kid(w: World) -> m2mauth.Token:
    return m2mauth.fetch_token("openaire", client_id="oa-advanced", private_key=w.c.other_pem, key_id="oa-kid",
                               token_url=w.url("openaire"), timeout=TIMEOUT)


def advanced(w: World, **changes: Any) -> m2mauth.Token:
    credentials = {"client_id": "oa-advanced", "private_key": str(w.key_file), "key_id": "oa-kid",
                   "key_password": w.c.key_passphrase, "token_url": w.url("openaire"), **changes}
    return m2mauth.fetch_token("openaire", timeout=TIMEOUT, **{k: v for k, v in credentials.items() if v is not None})


@dataclass(frozen=True)
class Failure:
    id: str
    action: Callable[[World], object]
    error: type[m2mauth.M2MAuthError]
    codes: tuple[str, ...]
    fault: tuple[str, dict[str, Any]] | None = None


FAILURES = [
    # wrong secrets
    Failure("wrong-client-secret-basic", lambda w: generic_fetch(w, client_secret=w.c.wrong_secret),
            m2mauth.TokenEndpointError, ("invalid_client",)),
    Failure("wrong-client-secret-post",
            lambda w: m2mauth.fetch_token("climate-engine", auth_method="client_secret_post", timeout=TIMEOUT,
                                          **{**ce_client(w), "client_secret": w.c.wrong_secret}),
            m2mauth.TokenEndpointError, ("invalid_client",)),
    Failure("wrong-client-secret-jwt",
            lambda w: m2mauth.fetch_token("climate-engine", auth_method="client_secret_jwt", timeout=TIMEOUT,
                                          **{**ce_client(w), "client_secret": w.c.wrong_secret}),
            m2mauth.TokenEndpointError, ("invalid_client",)),
    Failure("wrong-hmac-secret",
            lambda w: m2mauth.fetch_token("disruptive-technologies", token_url=w.url("disruptive-technologies"),
                                          key_id="dt-canary-kid", secret=w.c.wrong_secret,
                                          email="svc@canary.serviceaccount.example", timeout=TIMEOUT),
            m2mauth.TokenEndpointError, ("invalid_signature",)),
    Failure("wrong-password",
            lambda w: m2mauth.fetch_token("climate-engine", token_url=w.url("climate-engine"), timeout=TIMEOUT,
                                          username="ce-user@example.org", password=w.c.wrong_secret),
            m2mauth.TokenEndpointError, ("invalid_grant",)),
    Failure("wrong-password-source",
            lambda w: m2mauth.TokenSource("generic", token_url=w.url("generic"), username="gen-user",
                                          password=w.c.wrong_secret, retry=QUICK).token(),
            m2mauth.TokenEndpointError, ("invalid_grant",)),
    # wrong keys and passphrases
    Failure("wrong-key-clms", clms_with_other_key, m2mauth.TokenEndpointError, ("invalid_grant",)),
    Failure("wrong-key-openaire-advanced", unregistered_kid, m2mauth.TokenEndpointError, ("invalid_client",)),
    Failure("wrong-key-passphrase", lambda w: advanced(w, key_password=w.c.wrong_secret), m2mauth.ConfigError,
            ("invalid_key",)),
    Failure("missing-key-passphrase", lambda w: advanced(w, key_password=None), m2mauth.ConfigError,
            ("key_password_required",)),
    Failure("passphrase-for-a-plain-key", lambda w: advanced(w, private_key=w.c.pem), m2mauth.ConfigError,
            ("invalid_key",)),
    Failure("key-body-on-one-line", lambda w: advanced(w, private_key=one_line_key_body(w.c.pem), key_password=None),
            m2mauth.ConfigError, ("key_file_not_found", "key_file_unreadable", "invalid_key")),
    Failure("service-key-body-on-one-line",
            lambda w: m2mauth.fetch_token("clms", service_key=one_line_key_body(w.service_key["private_key"])),
            m2mauth.ConfigError, ("key_file_not_found", "key_file_unreadable", "invalid_service_key")),
    # refused refresh tokens
    Failure("refused-refresh-openaire-get", lambda w: oa_personal(w, w.c.refresh_token), m2mauth.TokenEndpointError,
            ("invalid_grant",)),
    Failure("refused-refresh-openaire-source", lambda w: oa_source(w, w.c.refresh_token),
            m2mauth.TokenEndpointError, ("invalid_grant",)),
    Failure("refused-refresh-cdse",
            lambda w: m2mauth.fetch_token("cdse-openeo", token_url=w.url("cdse-openeo"), client_id="cdse-public",
                                          refresh_token=w.c.refresh_token, timeout=TIMEOUT),
            m2mauth.TokenEndpointError, ("invalid_grant",)),
    Failure("refused-refresh-generic", lambda w: generic_fetch(w, refresh_token=w.c.refresh_token),
            m2mauth.TokenEndpointError, ("invalid_grant",)),
    Failure("spent-refresh-openaire",
            # keep=False: m2mauth would otherwise use the rotated successor (issue 8 part 1)
            lambda w: [oa_personal(w, rt, keep=False) for rt in [w.refresh("openaire")] * 2],
            m2mauth.TokenEndpointError, ("invalid_grant",)),
    # faults of the server, on a POST with a client secret and on OpenAIRE's GET with the refresh token
    Failure("fault-429", generic_fetch, m2mauth.TokenEndpointError, ("rate_limited",), ("429", {"retry_after": "0"})),
    Failure("fault-503-source", generic_source, m2mauth.TokenEndpointError, ("temporarily_unavailable",),
            ("503", {"times": 2})),
    Failure("fault-html", generic_fetch, m2mauth.TokenEndpointError, ("server_error",), ("html", {})),
    Failure("fault-truncated-json", generic_fetch, m2mauth.TokenEndpointError, ("invalid_response",),
            ("truncated_json", {})),
    Failure("fault-reset", generic_fetch, m2mauth.TransportError, ("connection_error",), ("reset", {})),
    Failure("fault-429-openaire-get", lambda w: oa_source(w, w.c.refresh_token), m2mauth.TokenEndpointError,
            ("rate_limited",), ("429", {"times": 2, "retry_after": "0"})),
    Failure("fault-html-openaire-get", lambda w: oa_personal(w, w.c.refresh_token), m2mauth.TokenEndpointError,
            ("server_error",), ("html", {})),
    Failure("fault-truncated-openaire-get", lambda w: oa_personal(w, w.refresh("openaire")),
            m2mauth.TokenEndpointError, ("invalid_response",), ("truncated_json", {})),
    Failure("fault-reset-openaire-get", lambda w: oa_personal(w, w.c.refresh_token), m2mauth.TransportError,
            ("connection_error",), ("reset", {})),
    Failure("timeout", lambda w: generic_fetch(w, timeout=0.3), m2mauth.TransportError, ("timeout",),
            ("slow", {"delay": 1.0})),
    Failure("timeout-openaire-get", lambda w: oa_source(w, w.c.refresh_token, timeout=0.3), m2mauth.TransportError,
            ("timeout",), ("slow", {"delay": 1.0, "times": 2})),
    Failure("connection-refused-openaire-get",
            lambda w: oa_personal(w, w.c.refresh_token, CLOSED.format(port=w.closed_port)),
            m2mauth.TransportError, ("connection_error",)),
    # refused before anything is sent
    Failure("insecure-url", lambda w: generic_fetch(w, token_url="http://auth.example.org/oauth/token"),
            m2mauth.ConfigError, ("insecure_url",)),
    Failure("insecure-url-openaire-get", lambda w: oa_personal(w, w.c.refresh_token, "http://10.1.2.3/getAccessToken"),
            m2mauth.ConfigError, ("insecure_url",)),
    Failure("insecure-url-source",
            lambda w: m2mauth.TokenSource("generic", **{**generic_secret(w), "token_url": "http://example.org/t"}),
            m2mauth.ConfigError, ("insecure_url",)),
    Failure("tls-off", lambda w: m2mauth.fetch_token("generic", verify=False, **generic_secret(w)),
            m2mauth.ConfigError, ("insecure_tls",)),
    Failure("key-algorithm-mismatch-clms",
            lambda w: m2mauth.plan_request("clms", alg="HS256", service_key=str(w.service_key_file)),
            m2mauth.ConfigError, ("key_algorithm_mismatch",)),
    Failure("key-algorithm-mismatch-sign-jwt",
            lambda w: m2mauth.sign_jwt({"iss": "me"}, w.c.encrypted_pem, alg="HS256", key_password=w.c.key_passphrase),
            m2mauth.ConfigError, ("key_algorithm_mismatch",)),
    Failure("key-algorithm-mismatch-secret",
            lambda w: m2mauth.plan_request("generic", flow="jwt_bearer", alg="RS256", **generic_secret(w),
                                           secret=w.c.hmac_secret),
            m2mauth.ConfigError, ("key_algorithm_mismatch",)),
    Failure("missing-client-id",
            lambda w: m2mauth.fetch_token("generic", token_url=w.url("generic"), client_secret=w.c.client_secret),
            m2mauth.ConfigError, ("missing_credential",)),
    Failure("missing-dt-credentials",
            lambda w: m2mauth.fetch_token("disruptive-technologies", secret=w.c.hmac_secret,
                                          token_url=w.url("disruptive-technologies")),
            m2mauth.ConfigError, ("missing_credential",)),
    Failure("missing-username-source", lambda w: m2mauth.TokenSource("climate-engine", password=w.c.password),
            m2mauth.ConfigError, ("missing_credential",)),
    Failure("missing-client-id-login",
            lambda w: m2mauth.login("cdse-openeo", client_secret=w.c.client_secret, issuer=w.provider.issuer_url()),
            m2mauth.ConfigError, ("missing_credential",)),
    Failure("unknown-credential-keyword",
            lambda w: m2mauth.fetch_token("generic", token_url=w.url("generic"), client_id="gen-secret",
                                          clientsecret=w.c.client_secret),
            m2mauth.ConfigError, ("unknown_credential",)),
    Failure("login-required",
            lambda w: m2mauth.TokenSource("cdse-openeo", flow="device_code", client_id="cdse-svc",
                                          client_secret=w.c.client_secret, issuer=w.provider.issuer_url(),
                                          store=m2mauth.MemoryStore()).token(),
            m2mauth.ConfigError, ("login_required",)),
]


@pytest.mark.parametrize("failure", FAILURES, ids=[f.id for f in FAILURES])
def test_every_error_path_leaks_nothing(
    failure: Failure, world: World, watch: Watch, clean_env: Path
) -> None:
    if failure.fault is not None:
        kind, options = failure.fault
        world.provider.set_fault(kind, **options)
    try:
        with pytest.raises(failure.error) as caught:
            failure.action(world)
    finally:
        world.provider.clear_faults()
    err = caught.value
    assert err.code in failure.codes or getattr(err, "provider_code", None) in failure.codes, (err.code, str(err))
    watch.error(failure.id, err)
    watch.check()


# -- JWK loading errors (PyJWT converts JWKs; its texts can quote the whole JWK, d included) ------------


def canary_jwk(key: rsa.RSAPrivateKey) -> dict[str, str]:
    """The canary key as a full RSA JWK (every private member is a canary needle)."""
    numbers = key.private_numbers()
    members = {"n": numbers.public_numbers.n, "e": numbers.public_numbers.e, "d": numbers.d, "p": numbers.p,
               "q": numbers.q, "dp": numbers.dmp1, "dq": numbers.dmq1, "qi": numbers.iqmp}
    return {"kty": "RSA", **{name: b64url_int(value) for name, value in members.items()}}


def broken_canary_jwks(w: World) -> dict[str, Any]:
    """JWKs holding the canary key's private members, each broken in a way a loader must refuse."""
    full = canary_jwk(w.c.key)
    other = canary_jwk(w.c.other_key)
    return {
        "jwk-d-of-another-key": {**full, "d": other["d"]},
        "jwk-primes-of-another-key": {**full, "p": other["p"], "q": other["q"]},
        "jwk-n-e-d-that-do-not-match": {"kty": "RSA", "n": other["n"], "e": full["e"], "d": full["d"]},
        "jwk-bad-character-in-d": {**full, "d": full["d"][:40] + "!!!!" + full["d"][40:]},
        "jwk-padded-p": {**full, "p": full["p"] + "=="},
        "jwk-standard-alphabet-q": {**full, "q": full["q"].replace("-", "+").replace("_", "/") + "+/+/"},
        "jwk-multi-prime": {**full, "oth": [{"r": full["p"], "d": full["dp"], "t": full["qi"]}]},
        "jwk-d-as-number": {**full, "d": w.c.key.private_numbers().d},
        "jwk-ec-with-rsa-members": {**full, "kty": "EC", "crv": "P-256", "x": full["d"][:43], "y": full["p"][:43]},
        "jwk-ec-on-p521": {"kty": "EC", "crv": "P-521", "x": full["p"], "y": full["q"], "d": full["d"]},
        "jwk-oct-bad-k": {"kty": "oct", "k": full["d"] + "*"},
        "jwk-okp": {"kty": "OKP", "crv": "Ed25519", "x": full["n"][:43], "d": full["d"][:43]},
        "jwk-kty-is-the-key": {**full, "kty": full["d"]},
        "jwks-two-keys-no-kid": {"keys": [full, other]},
        "jwks-unknown-kid": {"keys": [{**full, "kid": "a"}, {**other, "kid": "b"}]},
    }


@pytest.mark.parametrize("form", ["mapping", "json-text", "file", "sign_jwt", "fetch_token"])
def test_jwk_loading_errors_leak_nothing(form: str, world: World, watch: Watch, clean_env: Path,
                                         tmp_path: Path) -> None:
    for name, jwk in broken_canary_jwks(world).items():
        given: Any = jwk
        if form == "json-text":
            given = json.dumps(jwk)
        elif form == "file":
            given = private_file(tmp_path / f"{name}.json", json.dumps(jwk))
        with pytest.raises(m2mauth.ConfigError) as caught:
            if form == "sign_jwt":
                m2mauth.sign_jwt({"iss": "me"}, given)
            elif form == "fetch_token":
                m2mauth.fetch_token("generic", flow="jwt_bearer", client_id="gen-key", private_key=given,
                                    token_url=world.url("generic"), timeout=TIMEOUT)
            else:
                m2mauth.load_key(given, kid="c" if name == "jwks-unknown-kid" else None)
        err = caught.value
        assert err.code in {"invalid_key", "invalid_base64", "ambiguous_key"}, (name, err.code)
        assert err.__cause__ is None and (err.__context__ is None or err.__suppress_context__), name
        watch.error(f"{form} {name}", err)
    watch.check()


def test_reprs_of_keys_assertions_and_client_auth_leak_nothing(world: World, watch: Watch, clean_env: Path) -> None:
    c = world.c
    keys = [
        m2mauth.load_key(c.pem, kid="k1"),
        m2mauth.load_key(c.encrypted_pem, password=c.key_passphrase),
        m2mauth.load_key(world.key_file, password=c.key_passphrase),
        m2mauth.secret_key(c.hmac_secret, kid="dt"),
        m2mauth.load_key({"kty": "oct", "k": base64.urlsafe_b64encode(c.client_secret.encode()).decode().rstrip("=")}),
    ]
    watch.show("keys", *keys)
    watch.text("public JWK", json.dumps(keys[0].public_jwk()))
    service_key = m2mauth.load_service_key(world.service_key_file)
    watch.show("service key", service_key, service_key.key, m2mauth.load_service_key(json.dumps(world.service_key)))
    for key in keys:
        assertion = m2mauth.make_assertion(key, issuer="me", audience="https://example.org/token", with_jti=True)
        watch.show("assertion", assertion, m2mauth.inspect(assertion.jwt, key=key))
        watch.text("assertion (redacted)", assertion.redacted)
    for method, secret, key in [
        ("client_secret_basic", c.client_secret, None),
        ("client_secret_post", c.client_secret, None),
        ("client_secret_jwt", c.client_secret, None),
        ("private_key_jwt", None, keys[1]),
    ]:
        client = m2mauth.ClientAuth(method, "client", secret, key)
        watch.show("client auth", client)
        request = m2mauth.plan_request(
            "generic", token_url="https://example.org/token", client_id="client", auth_method=method,
            **({"client_secret": secret} if secret else {"private_key": c.encrypted_pem,
                                                        "key_password": c.key_passphrase}),
        ).request
        watch.show("token request", request)
        watch.text("token request (redacted)", json.dumps(request.redacted()))
    signed = m2mauth.sign_jwt({"iss": "me", "aud": "you"}, m2mauth.secret_key(c.hmac_secret))
    watch.show("inspect HS256 grant", m2mauth.inspect(signed, "disruptive-technologies",
                                                      key=m2mauth.secret_key(c.wrong_secret)))
    watch.check()


# -- OpenAIRE's refresh token in the query string and urllib3's DEBUG log --------------------------


def test_refresh_token_in_the_query_string_is_masked_in_urllib3_debug_log(world: World, watch: Watch,
                                                                           clean_env: Path) -> None:
    """urllib3 logs each request line at DEBUG, query string included; OpenAIRE's GET refresh puts the
    refresh token there. m2mauth filters urllib3's records for the requests it sends."""
    refresh_token = world.refresh("openaire")
    token = watch.token("openaire", oa_personal(world, refresh_token))
    use(world, token)
    lines = [r.getMessage() for r in watch.caplog.records if r.name.startswith("urllib3") and "getAccessToken" in
             r.getMessage()]
    assert lines, "urllib3 logged no request line: is its DEBUG logging captured?"
    assert all("refreshToken=<redacted>" in line for line in lines), lines
    # A canary refresh token (refused) is masked the same way.
    with pytest.raises(m2mauth.TokenEndpointError):
        oa_personal(world, world.c.refresh_token)
    watch.check()
