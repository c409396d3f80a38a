"""RFC 7523 assertions: claim order, determinism, lifetimes, kid, and client assertions."""

from __future__ import annotations

import json
from pathlib import Path

import jwt
import pytest

from m2mauth import ClientAuth, ConfigError, load_key, make_assertion, secret_key
from m2mauth.assertions import build_claims, build_header, new_jti

AUD = "https://land.copernicus.eu/@@oauth2-token"


@pytest.fixture
def rsa_key(keys_dir: Path):
    return load_key(keys_dir / "test-rsa-2048.pkcs8.pem")


def ordered(text: str) -> list[str]:
    return [k for k, _ in json.loads(text, object_pairs_hook=lambda pairs: pairs)]


def test_claim_order_is_fixed(rsa_key, now: int) -> None:
    a = make_assertion(
        rsa_key,
        issuer="client",
        subject="user",
        audience=AUD,
        not_before=True,
        jti="j-1",
        extra_claims={"scope": "read", "azp": "x"},
        now=now,
    )
    assert list(a.claims) == ["iss", "sub", "aud", "iat", "nbf", "exp", "jti", "scope", "azp"]
    assert ordered(a.claims_json) == list(a.claims)
    assert a.claims == {
        "iss": "client",
        "sub": "user",
        "aud": AUD,
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
        "jti": "j-1",
        "scope": "read",
        "azp": "x",
    }
    assert a.claims_json == (
        f'{{"iss":"client","sub":"user","aud":"{AUD}","iat":{now},"nbf":{now},"exp":{now + 3600},'
        '"jti":"j-1","scope":"read","azp":"x"}'
    )


def test_optional_claims_are_left_out(rsa_key, now: int) -> None:
    a = make_assertion(rsa_key, issuer="client", audience=AUD, now=now)
    assert list(a.claims) == ["iss", "aud", "iat", "exp"]
    assert a.header_json == '{"alg":"RS256","typ":"JWT"}'


def test_assertion_stages_are_consistent(rsa_key, now: int, rsa_public) -> None:
    a = make_assertion(rsa_key, issuer="client", subject="user", audience=AUD, now=now)
    head, body, _ = a.jwt.split(".")
    assert a.signing_input == f"{head}.{body}"
    assert a.redacted == a.signing_input + ".<signature redacted>"
    assert a.jwt.split(".")[2] not in a.redacted
    decoded = jwt.decode(a.jwt, rsa_public, algorithms=["RS256"], audience=AUD, options={"verify_exp": False})
    assert decoded == a.claims
    assert jwt.get_unverified_header(a.jwt) == a.header


def test_deterministic_with_injected_now_and_jti(rsa_key, now: int) -> None:
    def make():
        return make_assertion(
            rsa_key, issuer="c", subject="c", audience=AUD, with_jti=True, jti_source=lambda: "fixed-jti", now=now
        )

    first, second = make(), make()
    assert first.jwt == second.jwt
    assert first.claims["jti"] == "fixed-jti"


def test_clock_is_used_and_truncated(rsa_key, now: int) -> None:
    a = make_assertion(rsa_key, issuer="c", audience=AUD, clock=lambda: now + 0.999)
    assert a.claims["iat"] == now
    assert isinstance(a.claims["iat"], int)
    # now= wins over clock=
    b = make_assertion(rsa_key, issuer="c", audience=AUD, now=now - 10, clock=lambda: now)
    assert b.claims["iat"] == now - 10


def test_jti_sources(rsa_key, now: int) -> None:
    without = make_assertion(rsa_key, issuer="c", audience=AUD, now=now)
    assert "jti" not in without.claims
    fresh = [make_assertion(rsa_key, issuer="c", audience=AUD, now=now, with_jti=True).claims["jti"] for _ in range(3)]
    assert len(set(fresh)) == 3
    assert all(len(j) >= 22 for j in fresh)
    explicit = make_assertion(rsa_key, issuer="c", audience=AUD, now=now, jti="mine", with_jti=True)
    assert explicit.claims["jti"] == "mine"
    assert new_jti() != new_jti()


@pytest.mark.parametrize("lifetime", [0, -1, -3600, True, 1.5, "60", None])
def test_non_positive_or_non_int_lifetime(rsa_key, now: int, lifetime: object) -> None:
    with pytest.raises(ConfigError) as info:
        make_assertion(rsa_key, issuer="c", audience=AUD, now=now, lifetime=lifetime)  # type: ignore[arg-type]
    assert info.value.code == "invalid_lifetime"


def test_lifetime_over_cap(rsa_key, now: int) -> None:
    with pytest.raises(ConfigError) as info:
        make_assertion(rsa_key, issuer="c", audience=AUD, now=now, lifetime=3601, max_lifetime=3600)
    assert info.value.code == "lifetime_exceeded"
    assert "3600" in (info.value.hint or "")
    at_cap = make_assertion(rsa_key, issuer="c", audience=AUD, now=now, lifetime=3600, max_lifetime=3600)
    assert at_cap.claims["exp"] - at_cap.claims["iat"] == 3600


def test_missing_issuer_or_audience(rsa_key, now: int) -> None:
    for kwargs in ({"issuer": "", "audience": AUD}, {"issuer": "c", "audience": ""}, {"issuer": "c", "audience": []}):
        with pytest.raises(ConfigError) as info:
            make_assertion(rsa_key, now=now, **kwargs)  # type: ignore[arg-type]
        assert info.value.code == "missing_claim"


def test_list_audience(rsa_key, now: int, rsa_public) -> None:
    a = make_assertion(rsa_key, issuer="c", audience=[AUD, "other"], now=now)
    assert a.claims["aud"] == [AUD, "other"]
    assert jwt.decode(a.jwt, rsa_public, algorithms=["RS256"], audience="other", options={"verify_exp": False})


def test_extra_claim_cannot_overwrite_registered(rsa_key, now: int) -> None:
    for name in ("iss", "aud", "exp", "iat"):
        with pytest.raises(ConfigError) as info:
            make_assertion(rsa_key, issuer="c", audience=AUD, now=now, extra_claims={name: 1})
        assert info.value.code == "invalid_claims"


def test_kid_from_key_or_argument(keys_dir: Path, now: int) -> None:
    jwk_key = load_key(keys_dir / "test-rsa-2048.jwk.json")
    from_key = make_assertion(jwk_key, issuer="c", audience=AUD, now=now)
    assert from_key.header == {"alg": "RS256", "typ": "JWT", "kid": "m2mauth-test-rsa-1"}
    overridden = make_assertion(jwk_key, issuer="c", audience=AUD, now=now, kid="other-kid")
    assert overridden.header["kid"] == "other-kid"
    assert list(overridden.header) == ["alg", "typ", "kid"]
    pem_key = load_key(keys_dir / "test-rsa-2048.pkcs8.pem")
    assert "kid" not in make_assertion(pem_key, issuer="c", audience=AUD, now=now).header
    assert make_assertion(pem_key, issuer="c", audience=AUD, now=now, kid="k").header["kid"] == "k"


def test_typ_can_be_dropped(rsa_key, now: int) -> None:
    a = make_assertion(rsa_key, issuer="c", audience=AUD, now=now, typ=None)
    assert a.header_json == '{"alg":"RS256"}'


def test_algorithm_defaults_follow_the_key(keys_dir: Path, hmac_secret: str, now: int, ec_public) -> None:
    assert make_assertion(secret_key(hmac_secret), issuer="c", audience=AUD, now=now).header["alg"] == "HS256"
    ec_assertion = make_assertion(load_key(keys_dir / "test-ec-p256.jwk.json"), issuer="c", audience=AUD, now=now)
    assert ec_assertion.header["alg"] == "ES256"
    assert jwt.decode(ec_assertion.jwt, ec_public, algorithms=["ES256"], audience=AUD, options={"verify_exp": False})


def test_rsa_key_asked_for_hs256_is_refused(rsa_key, now: int) -> None:
    with pytest.raises(ConfigError) as info:
        make_assertion(rsa_key, issuer="c", audience=AUD, now=now, alg="HS256")
    assert info.value.code == "key_algorithm_mismatch"
    assert "RS256" in (info.value.hint or "")


def test_assertion_repr_has_no_signature(rsa_key, now: int) -> None:
    a = make_assertion(rsa_key, issuer="c", audience=AUD, now=now)
    assert a.jwt.split(".")[2] not in repr(a)
    assert repr(a) == f"<Assertion alg='RS256' iss='c' exp={now + 3600}>"


def test_build_helpers() -> None:
    assert build_header("ES256", "k", None) == {"alg": "ES256", "kid": "k"}
    assert list(build_header("RS256", "k")) == ["alg", "typ", "kid"]
    claims = build_claims(issuer="i", audience="a", now=10, lifetime=5, subject="s", jti="j", not_before=True)
    assert claims == {"iss": "i", "sub": "s", "aud": "a", "iat": 10, "nbf": 10, "exp": 15, "jti": "j"}


# --- client assertions (RFC 7523 §2.2 / OIDC Core §9) ---------------------------------------------

TOKEN_URL = "https://aai.openaire.eu/oidc/token"


def client_assertion(auth: ClientAuth, **kwargs: object) -> str:
    headers, form = auth.apply(TOKEN_URL, **kwargs)  # type: ignore[arg-type]
    assert headers == []
    assert [name for name, _ in form] == ["client_assertion_type", "client_assertion"]
    assert form[0][1] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    return form[1][1]


def test_private_key_jwt_assertions_are_fresh_and_short(keys_dir: Path, rsa_public, now: int) -> None:
    auth = ClientAuth("private_key_jwt", "svc-1", key=load_key(keys_dir / "test-rsa-2048.jwk.json"))
    first, second = client_assertion(auth, now=now), client_assertion(auth, now=now)
    claims = [
        jwt.decode(t, rsa_public, algorithms=["RS256"], audience=TOKEN_URL, options={"verify_exp": False})
        for t in (first, second)
    ]
    assert claims[0]["jti"] != claims[1]["jti"]
    for c in claims:
        assert c["iss"] == c["sub"] == "svc-1"
        assert c["aud"] == TOKEN_URL
        assert c["exp"] - c["iat"] == 300
        assert c["iat"] == now
    assert jwt.get_unverified_header(first) == {"alg": "RS256", "typ": "JWT", "kid": "m2mauth-test-rsa-1"}


def test_private_key_jwt_with_real_clock(keys_dir: Path, rsa_public) -> None:
    auth = ClientAuth("private_key_jwt", "svc-1", key=load_key(keys_dir / "test-rsa-2048.pkcs8.pem"))
    token = client_assertion(auth)
    # Not expired right now, and the jti is unguessable-looking.
    claims = jwt.decode(token, rsa_public, algorithms=["RS256"], audience=TOKEN_URL)
    assert claims["exp"] - claims["iat"] == 300
    assert len(claims["jti"]) >= 22


def test_client_secret_jwt_assertions(now: int) -> None:
    auth = ClientAuth("client_secret_jwt", "client-7", client_secret="a-long-client-secret-value-0123456789")
    first, second = client_assertion(auth, now=now), client_assertion(auth, now=now)
    assert first != second
    for token in (first, second):
        assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT"}
        c = jwt.decode(
            token,
            "a-long-client-secret-value-0123456789",
            algorithms=["HS256"],
            audience=TOKEN_URL,
            options={"verify_exp": False},
        )
        assert c["iss"] == c["sub"] == "client-7"
        assert c["exp"] - c["iat"] == 300
        assert "jti" in c


def test_client_assertion_jti_source_is_injectable(keys_dir: Path, now: int) -> None:
    auth = ClientAuth("private_key_jwt", "svc-1", key=load_key(keys_dir / "test-rsa-2048.pkcs8.pem"))
    assert client_assertion(auth, now=now, jti_source=lambda: "J") == client_assertion(
        auth, now=now, jti_source=lambda: "J"
    )
