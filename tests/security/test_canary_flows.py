"""Secrets never leak (issue 5, part 4): every flow of every profile, and the device login.

The canary run is described in canary_values.py; the world and watch fixtures are in conftest.py.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from canary_credentials import ce_client, dt_env, generic_secret, no_env
from canary_watch import Watch, check_store, use
from canary_world import QUICK, TIMEOUT, World, auto_approve

import m2mauth
from m2mauth.credentials import resolve_credentials

try:
    import httpx
except ImportError:  # pragma: no cover - httpx is a test dependency
    httpx = None  # type: ignore[assignment]


# -- every flow ----------------------------------------------------------------------------------


Credentials = Callable[[World], dict[str, Any]]


@dataclass(frozen=True)
class Case:
    id: str
    profile: str
    credentials: Credentials  # called for every use: refresh tokens are single-use
    env: Callable[[World], dict[str, str]] = no_env
    flow: str | None = None
    auth_method: str | None = None

    def options(self) -> dict[str, str]:
        return {k: v for k, v in (("flow", self.flow), ("auth_method", self.auth_method)) if v is not None}


FLOWS = [
    Case("clms-service-key-file", "clms", lambda w: {"service_key": str(w.service_key_file)}),
    Case(
        "clms-service-key-json-in-env",
        "clms",
        lambda w: {},
        env=lambda w: {"M2MAUTH_SERVICE_KEY": json.dumps(w.service_key)},
    ),
    Case(
        "dt-hmac-arguments",
        "disruptive-technologies",
        lambda w: {
            "token_url": w.url("disruptive-technologies"),
            "key_id": "dt-canary-kid",
            "secret": w.c.hmac_secret,
            "email": "svc@canary.serviceaccount.example",
        },
    ),
    Case(
        "dt-hmac-environment",
        "disruptive-technologies",
        lambda w: {"token_url": w.url("disruptive-technologies")},
        env=dt_env,
    ),
    Case(
        "openaire-personal-refresh",
        "openaire",
        lambda w: {"token_url": w.url("openaire", "personal_refresh"), "refresh_token": w.refresh("openaire")},
    ),
    Case(
        "openaire-basic",
        "openaire",
        lambda w: {"token_url": w.url("openaire"), "client_id": "oa-basic", "client_secret": w.c.client_secret},
    ),
    Case(
        "openaire-advanced-encrypted-key-file",
        "openaire",
        lambda w: {
            "token_url": w.url("openaire"),
            "client_id": "oa-advanced",
            "private_key": str(w.key_file),
            "key_password": w.c.key_passphrase,
            "key_id": "oa-kid",
        },
    ),
    Case(
        "climate-engine-password",
        "climate-engine",
        lambda w: {"token_url": w.url("climate-engine"), "username": "ce-user@example.org", "password": w.c.password},
    ),
    Case("climate-engine-basic", "climate-engine", ce_client, auth_method="client_secret_basic"),
    Case("climate-engine-post", "climate-engine", ce_client, auth_method="client_secret_post"),
    Case("climate-engine-jwt", "climate-engine", ce_client, auth_method="client_secret_jwt"),
    Case(
        "cdse-client-credentials-environment",
        "cdse-openeo",
        lambda w: {"token_url": w.url("cdse-openeo")},
        env=lambda w: {"OPENEO_AUTH_CLIENT_ID": "cdse-svc", "OPENEO_AUTH_CLIENT_SECRET": w.c.client_secret},
    ),
    Case(
        "cdse-refresh",
        "cdse-openeo",
        lambda w: {"token_url": w.url("cdse-openeo"), "client_id": "cdse-public", "refresh_token": w.refresh("cdse")},
    ),
    Case("generic-basic", "generic", generic_secret, auth_method="client_secret_basic"),
    Case("generic-post", "generic", generic_secret, auth_method="client_secret_post"),
    Case("generic-client-secret-jwt", "generic", generic_secret, auth_method="client_secret_jwt"),
    Case(
        "generic-private-key-jwt-pem-text",
        "generic",
        lambda w: {"token_url": w.url("generic"), "client_id": "gen-key", "private_key": w.c.pem, "key_id": "gen-kid"},
    ),
    Case(
        "generic-password",
        "generic",
        lambda w: {"token_url": w.url("generic"), "username": "gen-user", "password": w.c.password},
    ),
    Case(
        "generic-password-with-client",
        "generic",
        lambda w: {**generic_secret(w), "username": "gen-user", "password": w.c.password},
        flow="password",
        auth_method="client_secret_post",
    ),
    Case(
        "generic-refresh-with-client",
        "generic",
        lambda w: {**generic_secret(w), "refresh_token": w.refresh("generic", "gen-secret")},
    ),
    Case("generic-jwt-bearer-hmac", "generic", lambda w: {**generic_secret(w), "secret": w.c.client_secret},
         flow="jwt_bearer"),
    Case(
        "generic-jwt-bearer-encrypted-pem-text",
        "generic",
        lambda w: {
            "token_url": w.url("generic"),
            "client_id": "gen-key",
            "private_key": w.c.encrypted_pem,
            "key_password": w.c.key_passphrase,
            "key_id": "gen-kid",
        },
        flow="jwt_bearer",
    ),
    Case(
        "generic-discovery",
        "generic",
        lambda w: {
            "issuer": w.provider.issuer_url(),
            "client_id": "cdse-svc",
            "client_secret": w.c.client_secret,
        },
    ),
]


@pytest.mark.parametrize("case", FLOWS, ids=[case.id for case in FLOWS])
def test_every_flow_leaks_nothing(
    case: Case, world: World, watch: Watch, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, clean_env: Path
) -> None:
    for name, value in case.env(world).items():
        monkeypatch.setenv(name, value)
    options = case.options()

    # What would be sent, and why (build_request does no discovery: the token URL is found first).
    planned = case.credentials(world)
    if "issuer" in planned:
        planned["token_url"] = m2mauth.discover(planned["issuer"], timeout=TIMEOUT)["token_endpoint"]
    plan = m2mauth.build_request(case.profile, **options, **planned)
    watch.show("plan", plan, plan.request, plan.credentials, plan.key, plan.assertion, plan.profile, plan.flow)
    watch.text("redacted request", json.dumps(plan.request.redacted()))
    watch.show("credentials", resolve_credentials(plan.profile, case.credentials(world)))
    jwt = plan.assertion.jwt if plan.assertion else plan.request.field("client_assertion")
    if jwt:
        watch.show("inspect", m2mauth.inspect(jwt, case.profile, key=plan.key, token_url=plan.token_url))

    # One exchange.
    token = watch.token("fetch_token", m2mauth.fetch_token(case.profile, timeout=TIMEOUT, **options,
                                                            **case.credentials(world)))
    use(world, token)

    # A TokenSource over a FileStore: fetched, then renewed (through the refresh token where there is one).
    store = m2mauth.FileStore(tmp_path / "store")
    source = m2mauth.TokenSource(case.profile, store=store, timeout=TIMEOUT, retry=QUICK, **options,
                                 **case.credentials(world))
    watch.token("TokenSource.token()", source.token())
    renewed = watch.token("TokenSource.token(force=True)", source.token(force=True))
    use(world, renewed)
    watch.show("source", source, store)

    # requests: Auth (renewing once after a 401 for a token the server does not know) and session().
    memory = m2mauth.MemoryStore()
    auth = m2mauth.Auth(case.profile, store=memory, timeout=TIMEOUT, retry=QUICK, **options, **case.credentials(world))
    memory.put(auth.source.key, m2mauth.Token("not-a-token-the-server-issued", expires_at=renewed.expires_at))
    answer = requests.get(world.provider.resource_url, auth=auth, timeout=TIMEOUT)
    assert answer.status_code == 200, answer.text
    watch.token("Auth", auth.source.token())
    watch.show("Auth", auth, auth.source, memory)
    with m2mauth.session(case.profile, timeout=TIMEOUT, retry=QUICK, **options, **case.credentials(world)) as http:
        assert http.get(world.provider.resource_url, timeout=TIMEOUT).status_code == 200
        watch.show("session", http.auth)
    if httpx is not None:
        httpx_auth = m2mauth.HttpxAuth(case.profile, timeout=TIMEOUT, retry=QUICK, **options,
                                       **case.credentials(world))
        with httpx.Client(auth=httpx_auth, timeout=TIMEOUT) as client:
            assert client.get(world.provider.resource_url).status_code == 200
        watch.show("HttpxAuth", httpx_auth)

    assert check_store(tmp_path / "store", watch) == 1
    watch.check()


# -- the device login: login, the stored refresh token, TokenSource after login, logout -----------


@pytest.mark.parametrize(
    ("profile", "client"),
    [("cdse-openeo", "public"), ("cdse-openeo", "confidential"), ("generic", "public")],
    ids=["cdse-public-client", "cdse-confidential-client", "generic-discovery"],
)
def test_device_login_and_logout_leak_nothing(
    profile: str, client: str, world: World, watch: Watch, tmp_path: Path, clean_env: Path
) -> None:
    credentials: dict[str, Any] = {"issuer": world.provider.issuer_url(), "client_id": "cdse-public"}
    if client == "confidential":
        credentials = {**credentials, "client_id": "cdse-svc", "client_secret": world.c.client_secret}
    store = m2mauth.FileStore(tmp_path / "store")
    progress = io.StringIO()

    def prompt(authorization: Any) -> None:
        world.device_codes.add(authorization.device_code)
        watch.show("device prompt", authorization)
        world.provider.approve_device(authorization.user_code)

    token = watch.token("login", m2mauth.login(profile, prompt=prompt, store=store, timeout=TIMEOUT,
                                               progress=progress, **credentials))
    assert token.refresh_token
    use(world, token)
    # The second login is not interactive: the stored refresh token is used (prompt and progress to stderr).
    again = watch.token("login again", m2mauth.login(profile, prompt=pytest.fail, store=store, timeout=TIMEOUT,
                                                     **credentials))
    use(world, again)
    source = m2mauth.TokenSource(profile, store=store, flow="device_code", timeout=TIMEOUT, **credentials)
    watch.token("TokenSource after login", source.token(force=True))
    watch.show("source after login", source)
    watch.text("login progress", progress.getvalue())
    assert check_store(tmp_path / "store", watch) == 1
    assert m2mauth.logout(profile, store=store, **credentials) is True
    assert check_store(tmp_path / "store", watch) == 0
    watch.check()


def test_device_login_default_prompt_on_stderr_leaks_nothing(world: World, watch: Watch, tmp_path: Path,
                                                             clean_env: Path) -> None:
    with auto_approve(world):
        token = m2mauth.login("cdse-openeo", issuer=world.provider.issuer_url(), client_id="cdse-svc",
                              client_secret=world.c.client_secret, store=m2mauth.FileStore(tmp_path / "s"),
                              timeout=TIMEOUT)
    watch.token("login (default prompt)", token)
    assert check_store(tmp_path / "s", watch) == 1
    watch.check()
