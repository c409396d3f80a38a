"""From credentials to the exact token request, per provider (build_request / plan_request, no network)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import jwt
import pytest

import m2mauth
from m2mauth import ConfigError, build_request, plan_request

DT_URL = "https://identity.disruptive-technologies.com/oauth2/token"
CLMS_URL = "https://land.copernicus.eu/@@oauth2-token"
OPENAIRE_URL = "https://aai.openaire.eu/oidc/token"
OPENAIRE_REFRESH = "https://services.openaire.eu/uoa-user-management/api/users/getAccessToken"
CE_URL = "https://auth.climateengine.com/api/v1/auth/jwt/token"
CDSE_URL = "https://identity.dataspace.copernicus.eu/auth/realms/CDSE/protocol/openid-connect/token"
JWT_BEARER_BODY = "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion="
FORM = ("Content-Type", "application/x-www-form-urlencoded")
ACCEPT = ("Accept", "application/json")

DT_ENV = {
    "DT_SERVICE_ACCOUNT_KEY_ID": "dt-key-id-1",
    "DT_SERVICE_ACCOUNT_SECRET": "dt-secret-from-the-environment-0123456789",
    "DT_SERVICE_ACCOUNT_EMAIL": "sa@project.serviceaccount.d21s.com",
}


def basic(plan) -> str:
    value = plan.request.header("Authorization")
    assert value is not None and value.startswith("Basic ")
    return base64.b64decode(value[6:]).decode("utf-8")


def segment(token: str, index: int) -> str:
    part = token.split(".")[index]
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)).decode("utf-8")


# --- Disruptive Technologies ---------------------------------------------------------------------


def test_dt_from_documented_environment(now: int) -> None:
    plan = build_request("disruptive-technologies", environ=DT_ENV, now=now)
    assert plan.flow.name == "service_account"
    assert set(plan.credentials.from_env) == set(DT_ENV)
    request = plan.request
    assert request.method == "POST" and request.url == DT_URL
    assert request.headers == (ACCEPT, FORM)
    assert [name for name, _ in request.form] == ["grant_type", "assertion"]
    assert request.body.startswith(JWT_BEARER_BODY)
    grant = request.field("assertion")
    assert grant is not None
    assert request.body == JWT_BEARER_BODY + grant
    assert jwt.get_unverified_header(grant) == {"alg": "HS256", "typ": "JWT", "kid": "dt-key-id-1"}
    claims = jwt.decode(
        grant,
        DT_ENV["DT_SERVICE_ACCOUNT_SECRET"],
        algorithms=["HS256"],
        audience=DT_URL,
        options={"verify_exp": False},
    )
    assert claims == {"iss": DT_ENV["DT_SERVICE_ACCOUNT_EMAIL"], "aud": DT_URL, "iat": now, "exp": now + 3600}
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(grant, "another-secret-0123456789-0123456789", algorithms=["HS256"], audience=DT_URL)


def test_dt_keywords_beat_the_environment(now: int) -> None:
    plan = build_request(
        "disruptive-technologies", environ=DT_ENV, now=now, key_id="kw-key", secret="kw-secret-0123456789-abcdefghijklm"
    )
    grant = plan.request.field("assertion")
    assert grant is not None
    assert jwt.get_unverified_header(grant)["kid"] == "kw-key"
    claims = jwt.decode(
        grant,
        "kw-secret-0123456789-abcdefghijklm",
        algorithms=["HS256"],
        audience=DT_URL,
        options={"verify_exp": False},
    )
    assert claims["iss"] == DT_ENV["DT_SERVICE_ACCOUNT_EMAIL"]  # still from the environment
    assert plan.credentials.from_env == ("DT_SERVICE_ACCOUNT_EMAIL",)


def test_dt_m2mauth_variables_are_a_fallback(now: int) -> None:
    env = {"M2MAUTH_KEY_ID": "m-key", "M2MAUTH_SECRET": "m-secret-0123456789-abcdefghijkl", "M2MAUTH_EMAIL": "a@b.c"}
    plan = plan_request("disruptive-technologies", environ=env, now=now)
    assert jwt.get_unverified_header(plan.request.field("assertion") or "")["kid"] == "m-key"
    # the provider's own variable is read before M2MAUTH_*
    both = {**env, "DT_SERVICE_ACCOUNT_KEY_ID": "dt-key"}
    plan = plan_request("disruptive-technologies", environ=both, now=now)
    assert jwt.get_unverified_header(plan.request.field("assertion") or "")["kid"] == "dt-key"


def test_dt_missing_credentials() -> None:
    with pytest.raises(ConfigError) as info:
        build_request("disruptive-technologies", environ={}, key_id="k")
    assert info.value.code == "missing_credential"


def test_dt_lifetime_over_cap(now: int) -> None:
    with pytest.raises(ConfigError) as info:
        build_request("disruptive-technologies", environ=DT_ENV, now=now, lifetime=3601)
    assert info.value.code == "lifetime_exceeded"


def test_dt_with_rsa_key_is_refused(keys_dir: Path) -> None:
    with pytest.raises(ConfigError) as info:
        build_request(
            "disruptive-technologies",
            environ={},
            key_id="k",
            email="a@b.c",
            secret="s",
            private_key=str(keys_dir / "test-rsa-2048.pkcs8.pem"),
        )
    assert info.value.code == "key_algorithm_mismatch"


def test_environment_is_read_from_os_environ_by_default(monkeypatch: pytest.MonkeyPatch, now: int) -> None:
    for name, value in DT_ENV.items():
        monkeypatch.setenv(name, value)
    plan = plan_request("disruptive-technologies", now=now)
    assert plan.credentials.key_id == "dt-key-id-1"


# --- credentials ---------------------------------------------------------------------------------


def test_unknown_credential_keyword() -> None:
    with pytest.raises(ConfigError) as info:
        build_request("openaire", environ={}, client_id="c", clientsecret="s")
    assert info.value.code == "unknown_credential"
    assert "clientsecret" in info.value.message
    assert "client_secret" in (info.value.hint or "")


def test_non_text_credential() -> None:
    with pytest.raises(ConfigError) as info:
        build_request("openaire", environ={}, client_id=12345, client_secret="s")
    assert info.value.code == "invalid_credential"


def test_m2mauth_client_id_fallback() -> None:
    env = {"M2MAUTH_CLIENT_ID": "env-client", "M2MAUTH_CLIENT_SECRET": "env-secret"}
    plan = build_request("openaire", environ=env)
    assert plan.flow.name == "service_basic"
    assert basic(plan) == "env-client:env-secret"
    assert plan.credentials.from_env == ("M2MAUTH_CLIENT_ID", "M2MAUTH_CLIENT_SECRET")
    keyword = build_request("openaire", environ=env, client_id="kw-client")
    assert basic(keyword) == "kw-client:env-secret"


def test_empty_environment_values_are_ignored() -> None:
    env = {"OPENEO_AUTH_CLIENT_ID": "", "M2MAUTH_CLIENT_ID": "fallback", "OPENEO_AUTH_CLIENT_SECRET": "s"}
    plan = build_request("cdse-openeo", environ=env)
    assert basic(plan) == "fallback:s"


def test_credentials_repr_hides_secrets(keys_dir: Path) -> None:
    plan = build_request("openaire", environ={}, client_id="svc", client_secret="VERY-SECRET-VALUE")
    assert "VERY-SECRET-VALUE" not in repr(plan.credentials)
    assert "client_secret=<redacted>" in repr(plan.credentials)
    assert "client_id='svc'" in repr(plan.credentials)
    assert "VERY-SECRET-VALUE" not in repr(plan)


# --- CLMS ----------------------------------------------------------------------------------------


def test_clms_service_key_grant(keys_dir: Path, rsa_public, now: int) -> None:
    plan = build_request("clms", environ={}, service_key=str(keys_dir / "test-clms-service-key.json"), now=now)
    assert plan.flow.name == "service_key"
    assert plan.request.url == CLMS_URL
    assert plan.request.headers == (ACCEPT, FORM)
    grant = plan.request.field("assertion")
    assert grant is not None
    assert plan.request.body == JWT_BEARER_BODY + grant
    assert segment(grant, 0) == '{"alg":"RS256","typ":"JWT"}'
    claims = jwt.decode(grant, rsa_public, algorithms=["RS256"], audience=CLMS_URL, options={"verify_exp": False})
    assert claims == {
        "iss": "m2mauth-test-client-0f3a",
        "sub": "m2mauth-test-user",
        "aud": CLMS_URL,
        "iat": now,
        "exp": now + 3600,
    }
    assert list(json.loads(segment(grant, 1))) == ["iss", "sub", "aud", "iat", "exp"]
    assert plan.assertion is not None and plan.assertion.jwt == grant


def test_clms_grant_verifies_with_a_fresh_clock(keys_dir: Path, rsa_public) -> None:
    plan = build_request("clms", environ={}, service_key=keys_dir / "test-clms-service-key.json")
    claims = jwt.decode(plan.request.field("assertion") or "", rsa_public, algorithms=["RS256"], audience=CLMS_URL)
    assert claims["exp"] - claims["iat"] == 3600


def test_clms_service_key_as_mapping_and_token_url_override(keys_dir: Path, rsa_public, now: int) -> None:
    data = json.loads((keys_dir / "test-clms-service-key.json").read_text(encoding="utf-8"))
    mirror = "https://mirror.example.org/@@oauth2-token"
    plan = build_request("clms", environ={}, service_key=data, token_url=mirror, now=now)
    assert plan.request.url == mirror
    assert plan.token_url == mirror
    claims = jwt.decode(
        plan.request.field("assertion") or "",
        rsa_public,
        algorithms=["RS256"],
        audience=mirror,
        options={"verify_exp": False},
    )
    assert claims["aud"] == mirror


def test_clms_lifetime_cap_and_algorithm(keys_dir: Path, now: int) -> None:
    key = str(keys_dir / "test-clms-service-key.json")
    with pytest.raises(ConfigError) as info:
        build_request("clms", environ={}, service_key=key, now=now, lifetime=7200)
    assert info.value.code == "lifetime_exceeded"
    with pytest.raises(ConfigError) as info:
        plan_request("clms", environ={}, service_key=key, now=now, alg="HS256")
    assert info.value.code == "key_algorithm_mismatch"
    assert "RS256" in (info.value.hint or "")
    with pytest.raises(ConfigError) as info:
        plan_request("clms", environ={}, service_key=key, now=now, alg="PS256")
    assert info.value.code == "algorithm_not_allowed"
    shorter = plan_request("clms", environ={}, service_key=key, now=now, lifetime=600)
    assert shorter.assertion is not None
    assert shorter.assertion.claims["exp"] - shorter.assertion.claims["iat"] == 600


def test_clms_without_service_key() -> None:
    with pytest.raises(ConfigError) as info:
        build_request("clms", environ={})
    assert info.value.code == "missing_credential"
    with pytest.raises(ConfigError) as info:
        build_request("clms", environ={}, service_key="/nonexistent/land-copernicus.json")
    assert info.value.code == "key_file_not_found"


# --- OpenAIRE ------------------------------------------------------------------------------------


def test_openaire_personal_refresh() -> None:
    plan = build_request("openaire", environ={}, refresh_token="my/refresh+token")
    assert plan.flow.name == "personal_refresh"
    request = plan.request
    assert request.method == "GET"
    assert request.url == OPENAIRE_REFRESH
    assert request.full_url == OPENAIRE_REFRESH + "?refreshToken=my%2Frefresh%2Btoken"
    assert request.headers == (ACCEPT,)
    assert request.body == ""
    assert "my/refresh+token" not in repr(plan)


def test_openaire_refresh_token_url_override() -> None:
    plan = build_request("openaire", environ={}, refresh_token="r", token_url="http://127.0.0.1:8080/getAccessToken")
    assert plan.request.full_url == "http://127.0.0.1:8080/getAccessToken?refreshToken=r"


def test_openaire_service_basic() -> None:
    plan = build_request("openaire", environ={}, client_id="svc id", client_secret="p:ss")
    assert plan.flow.name == "service_basic"
    assert plan.auth_method == "client_secret_basic"
    assert plan.request.url == OPENAIRE_URL
    assert [n for n, _ in plan.request.headers] == ["Accept", "Content-Type", "Authorization"]
    assert basic(plan) == "svc%20id:p%3Ass"  # RFC 6749 §2.3.1 encoding (space as %20) by default
    assert plan.request.form == (("grant_type", "client_credentials"),)
    post = build_request("openaire", environ={}, client_id="svc", client_secret="s", auth_method="client_secret_post")
    assert post.request.form == (("grant_type", "client_credentials"), ("client_id", "svc"), ("client_secret", "s"))
    raw = plan_request("openaire", environ={}, client_id="svc id", client_secret="p:ss", basic_encoding="raw")
    assert basic(raw) == "svc id:p:ss"


def test_openaire_service_advanced_with_jwk(keys_dir: Path, rsa_public, now: int) -> None:
    plan = build_request(
        "openaire", environ={}, client_id="svc-123", private_key=str(keys_dir / "test-rsa-2048.jwk.json"), now=now
    )
    assert plan.flow.name == "service_advanced"
    assert plan.auth_method == "private_key_jwt"
    assert plan.request.headers == (ACCEPT, FORM)
    assert [n for n, _ in plan.request.form] == ["grant_type", "client_assertion_type", "client_assertion"]
    assert plan.request.field("client_assertion_type") == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    token = plan.request.field("client_assertion") or ""
    assert jwt.get_unverified_header(token) == {"alg": "RS256", "typ": "JWT", "kid": "m2mauth-test-rsa-1"}
    claims = jwt.decode(token, rsa_public, algorithms=["RS256"], audience=OPENAIRE_URL, options={"verify_exp": False})
    assert claims["iss"] == claims["sub"] == "svc-123"
    assert claims["aud"] == OPENAIRE_URL
    assert claims["exp"] - claims["iat"] == 300
    assert claims["jti"]
    again = build_request(
        "openaire", environ={}, client_id="svc-123", private_key=str(keys_dir / "test-rsa-2048.jwk.json"), now=now
    )
    other = jwt.decode(
        again.request.field("client_assertion") or "",
        rsa_public,
        algorithms=["RS256"],
        audience=OPENAIRE_URL,
        options={"verify_exp": False},
    )
    assert other["jti"] != claims["jti"]


def test_openaire_service_advanced_with_pem_and_key_id(keys_dir: Path, rsa_public, now: int) -> None:
    pem = (keys_dir / "test-rsa-2048.pkcs8.pem").read_text(encoding="ascii")
    plan = build_request("openaire", environ={}, client_id="svc", private_key=pem, key_id="registered-kid", now=now)
    token = plan.request.field("client_assertion") or ""
    assert jwt.get_unverified_header(token)["kid"] == "registered-kid"
    jwt.decode(token, rsa_public, algorithms=["RS256"], audience=OPENAIRE_URL, options={"verify_exp": False})


def test_openaire_encrypted_key(keys_dir: Path, passphrase: str, now: int) -> None:
    path = str(keys_dir / "test-rsa-2048.encrypted.pem")
    with pytest.raises(ConfigError) as info:
        build_request("openaire", environ={}, client_id="svc", private_key=path)
    assert info.value.code == "key_password_required"
    plan = build_request("openaire", environ={}, client_id="svc", private_key=path, key_password=passphrase, now=now)
    assert plan.auth_method == "private_key_jwt"


def test_openaire_explicit_flow_missing_credential() -> None:
    with pytest.raises(ConfigError) as info:
        build_request("openaire", environ={}, flow="service_advanced", client_id="svc", client_secret="s")
    assert info.value.code == "missing_credential"
    assert "private_key" in info.value.message


def test_auth_method_not_offered() -> None:
    with pytest.raises(ConfigError) as info:
        build_request("openaire", environ={}, client_id="svc", client_secret="s", auth_method="client_secret_jwt")
    assert info.value.code == "invalid_auth_method"
    assert "client_secret_basic" in (info.value.hint or "")


# --- Climate Engine ------------------------------------------------------------------------------


def test_climate_engine_password() -> None:
    plan = build_request("climate-engine", environ={}, username="me@example.org", password="p@ss word")
    assert plan.flow.name == "password"
    assert plan.request.url == CE_URL
    assert plan.request.headers == (ACCEPT, FORM)
    assert plan.request.form == (("grant_type", "password"), ("username", "me@example.org"), ("password", "p@ss word"))
    assert plan.request.body == "grant_type=password&username=me%40example.org&password=p%40ss+word"
    assert "p@ss word" not in repr(plan)


@pytest.mark.parametrize(
    ("method", "headers", "fields"),
    [
        (None, ["Accept", "Content-Type", "Authorization"], ["grant_type"]),
        ("client_secret_basic", ["Accept", "Content-Type", "Authorization"], ["grant_type"]),
        ("client_secret_post", ["Accept", "Content-Type"], ["grant_type", "client_id", "client_secret"]),
        ("client_secret_jwt", ["Accept", "Content-Type"], ["grant_type", "client_assertion_type", "client_assertion"]),
    ],
)
def test_climate_engine_client_credentials(method: str | None, headers: list[str], fields: list[str], now: int) -> None:
    plan = build_request(
        "climate-engine",
        environ={},
        client_id="ce-client",
        client_secret="ce-secret-0123456789-abcdefghijklm",
        auth_method=method,
        now=now,
    )
    assert plan.flow.name == "client_credentials"
    assert plan.auth_method == (method or "client_secret_basic")
    assert [n for n, _ in plan.request.headers] == headers
    assert [n for n, _ in plan.request.form] == fields
    if method == "client_secret_jwt":
        token = plan.request.field("client_assertion") or ""
        assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT"}
        claims = jwt.decode(
            token,
            "ce-secret-0123456789-abcdefghijklm",
            algorithms=["HS256"],
            audience=CE_URL,
            options={"verify_exp": False},
        )
        assert claims["iss"] == claims["sub"] == "ce-client"
        assert claims["iat"] == now and claims["exp"] == now + 300
        assert claims["jti"]
    elif "Authorization" in headers:
        assert basic(plan) == "ce-client:ce-secret-0123456789-abcdefghijklm"


# --- CDSE openEO ---------------------------------------------------------------------------------


def test_cdse_client_credentials_from_openeo_variables() -> None:
    env = {"OPENEO_AUTH_CLIENT_ID": "sh-client", "OPENEO_AUTH_CLIENT_SECRET": "sh-secret"}
    plan = build_request("cdse-openeo", environ=env)
    assert plan.flow.name == "client_credentials"
    assert plan.request.url == CDSE_URL
    assert basic(plan) == "sh-client:sh-secret"
    assert plan.request.form == (("grant_type", "client_credentials"),)


def test_cdse_refresh_token_public_client() -> None:
    plan = build_request("cdse-openeo", environ={}, client_id="openeo-client", refresh_token="stored-rt")
    assert plan.flow.name == "refresh_token"
    assert plan.request.form == (
        ("grant_type", "refresh_token"),
        ("refresh_token", "stored-rt"),
        ("client_id", "openeo-client"),
    )
    assert plan.request.header("Authorization") is None


def test_cdse_refresh_token_with_secret_uses_basic() -> None:
    plan = build_request("cdse-openeo", environ={}, client_id="c", client_secret="s", refresh_token="rt")
    assert plan.flow.name == "refresh_token"
    assert basic(plan) == "c:s"
    assert plan.request.form == (("grant_type", "refresh_token"), ("refresh_token", "rt"))


def test_a_flows_optional_fields_are_one_list_sent_with_its_grant() -> None:
    """Optional credentials ("optional") and option keywords ("options") are one list per flow: each
    one given is sent, in the profile's order, with any grant that posts a form; none given, none sent."""
    profile = {
        "name": "custom",
        "title": "Custom",
        "token_url": "https://auth.example.org/token",
        "flows": [
            {
                "name": "refresh_token",
                "grant": "refresh_token",
                "requires": ["refresh_token"],
                "auth_methods": ["none"],
                "optional": ["totp"],
                "options": ["validity_period"],
            }
        ],
    }
    plan = plan_request(profile, environ={}, client_id="c", refresh_token="rt", totp="123456", validity_period=600.0)
    assert plan.request.form == (
        ("grant_type", "refresh_token"),
        ("refresh_token", "rt"),
        ("totp", "123456"),
        ("validity_period", "600"),
        ("client_id", "c"),
    )
    plan = plan_request(profile, environ={}, client_id="c", refresh_token="rt")
    assert plan.request.form == (("grant_type", "refresh_token"), ("refresh_token", "rt"), ("client_id", "c"))


def test_a_credential_the_flow_does_not_list_is_left_out_and_an_option_refused() -> None:
    # CDSE's refresh flow gets the totp= meant for its password flow (one set of credentials): not sent.
    plan = build_request("cdse", environ={}, refresh_token="rt", totp="123456")
    assert plan.flow.name == "refresh_token" and plan.request.field("totp") is None
    with pytest.raises(ConfigError) as caught:
        plan_request("cdse", environ={}, refresh_token="rt", validity_period=600)
    assert caught.value.code == "invalid_option" and "cdse/refresh_token does not take validity_period=" in str(
        caught.value
    )


def test_device_code_is_interactive() -> None:
    with pytest.raises(ConfigError) as info:
        build_request("cdse-openeo", environ={}, client_id="openeo-client")
    assert info.value.code == "interactive_flow"
    assert "login" in (info.value.hint or "")


# --- generic -------------------------------------------------------------------------------------


def test_generic_needs_a_token_url() -> None:
    with pytest.raises(ConfigError) as info:
        build_request("generic", environ={}, client_id="c", client_secret="s")
    assert info.value.code == "missing_token_url"
    plan = build_request("generic", environ={}, client_id="c", client_secret="s", token_url="https://a.example/token")
    assert plan.request.url == "https://a.example/token"


@pytest.mark.parametrize(
    ("key_name", "alg"), [("test-rsa-2048.pkcs8.pem", "RS256"), ("test-ec-p256.jwk.json", "ES256")]
)
def test_generic_jwt_bearer(keys_dir: Path, key_name: str, alg: str, rsa_public, ec_public, now: int) -> None:
    url = "https://a.example/token"
    plan = build_request(
        "generic",
        environ={},
        flow="jwt_bearer",
        client_id="c",
        private_key=str(keys_dir / key_name),
        token_url=url,
        now=now,
    )
    token = plan.request.field("assertion") or ""
    public = rsa_public if alg == "RS256" else ec_public
    claims = jwt.decode(token, public, algorithms=[alg], audience=url, options={"verify_exp": False})
    assert claims == {"iss": "c", "sub": "c", "aud": url, "iat": now, "exp": now + 300}


def test_generic_jwt_bearer_with_secret_and_audience(now: int) -> None:
    plan = build_request(
        "generic",
        environ={},
        flow="jwt_bearer",
        client_id="c",
        username="u",
        secret="shared-secret-0123456789-abcdefghi",
        key_id="k1",
        audience="https://api.example",
        token_url="https://a.example/token",
        now=now,
    )
    token = plan.request.field("assertion") or ""
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT", "kid": "k1"}
    claims = jwt.decode(
        token,
        "shared-secret-0123456789-abcdefghi",
        algorithms=["HS256"],
        audience="https://api.example",
        options={"verify_exp": False},
    )
    assert claims["sub"] == "u"


def test_profile_object_and_mapping_and_path(profiles_dir: Path) -> None:
    for profile in (
        m2mauth.load_profile("openaire"),
        json.loads((profiles_dir / "openaire.json").read_text(encoding="utf-8")),
        profiles_dir / "openaire.json",
    ):
        plan = build_request(profile, environ={}, client_id="c", client_secret="s")
        assert plan.request.url == OPENAIRE_URL
