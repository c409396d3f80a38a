"""Any value of any type for any keyword of a public function: a result or an M2MAuthError, never another exception.

The parsers' properties are in test_fuzz.py; these go through the public entry points with one or
two keywords replaced by arbitrary values and the others valid, so that both the checks and the
success paths are reached. Token requests go to a LocalProvider on loopback. A guard on name
resolution fails the test if anything tries to reach another host (a generated text could look
like a URL): it is a safety net, not a mock of the behaviour under test.
"""

from __future__ import annotations

import math
import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import m2mauth
from m2mauth import M2MAuthError
from m2mauth.testing import LocalProvider

try:
    from m2mauth import HttpxAuth
except ImportError:  # the optional extra m2mauth[httpx] is not installed
    HttpxAuth = None  # type: ignore[assignment,misc]

KEYS = Path(__file__).resolve().parents[2] / "spec" / "keys"
BUDGET = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SECRET = "pub-arg-s3cret"
LOOPBACK = {"127.0.0.1", "::1", "localhost"}
_reached_out: list[str] = []
_real_getaddrinfo = socket.getaddrinfo


def _loopback_only(host: Any, *args: Any, **kwargs: Any) -> Any:
    name = host.decode() if isinstance(host, bytes) else str(host)
    if name not in LOOPBACK and not name.endswith(".localhost"):
        _reached_out.append(name)
        raise socket.gaierror(socket.EAI_NONAME, "test guard: only loopback may be reached")
    return _real_getaddrinfo(host, *args, **kwargs)


@pytest.fixture(scope="module", autouse=True)
def loopback_guard() -> Iterator[None]:
    socket.getaddrinfo = _loopback_only  # type: ignore[assignment]
    try:
        yield
    finally:
        socket.getaddrinfo = _real_getaddrinfo
    assert not _reached_out, f"tried to resolve non-loopback hosts: {_reached_out[:5]}"


@pytest.fixture(scope="module")
def provider() -> Iterator[LocalProvider]:
    with LocalProvider() as running:
        running.add_client("climate-engine", "ce-client", SECRET)
        yield running


@pytest.fixture(autouse=True, scope="module")
def isolated_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Refresh tokens and caches written by the calls go to a folder of this test."""
    saved = {name: os.environ.get(name) for name in ("M2MAUTH_HOME",)}
    os.environ["M2MAUTH_HOME"] = str(tmp_path_factory.mktemp("m2mauth-home"))
    for name in [n for n in os.environ if n.startswith("M2MAUTH_") and n != "M2MAUTH_HOME"]:
        saved[name] = os.environ.pop(name)
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


# --- any value -------------------------------------------------------------------------------------

# Text never holds "://": a generated URL must not name a host outside loopback (the guard also checks).
text = st.text(max_size=20).filter(lambda s: "://" not in s) | st.sampled_from(
    ["", " ", "\n", "\ud800", "x\x00y", "²", "-1", "0", "nan", "clms", "~nobody-m2mauth/x", "a" * 300]
)
numbers = (
    st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats()
    | st.sampled_from([0, -1, 0.0, -0.0, 1e-9, 1e308, math.inf, -math.inf, math.nan, 10**400])
)
scalars = st.none() | st.booleans() | numbers | text | st.binary(max_size=20)
anything = st.recursive(
    scalars | st.builds(object) | st.just(Path("/nonexistent/m2mauth")) | st.just(int),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.tuples(inner)
        | st.dictionaries(text, inner, max_size=3)
        | st.frozensets(scalars.filter(lambda v: not (isinstance(v, float) and math.isnan(v))), max_size=2)
    ),
    max_leaves=6,
)


def call(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """The function's result, or None when it raised an M2MAuthError (any other exception fails the test)."""
    try:
        return function(*args, **kwargs)
    except M2MAuthError as err:
        assert err.code and isinstance(err.code, str)
        assert SECRET not in str(err) and SECRET not in repr(err)
        return None


def mutated(base: dict[str, Any], names: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    """``base`` with one or two of ``names`` set to any value (a name absent from base is added)."""
    return st.builds(
        lambda chosen, values: {**base, **dict(zip(chosen, values, strict=False))},
        st.lists(st.sampled_from(names), min_size=1, max_size=2, unique=True),
        st.lists(anything, min_size=2, max_size=2),
    )


# --- the entry points ------------------------------------------------------------------------------

FETCH_OPTIONS = ["profile", "flow", "auth_method", "timeout", "session", "verify", "proxies", "clock"]
CREDENTIALS = ["client_id", "client_secret", "scope", "token_url", "issuer", "service_key", "private_key", "key_id"]


def loopback_only(kwargs: dict[str, Any], provider: LocalProvider) -> dict[str, Any]:
    """Without token_url= the profile's own (production) endpoint would be used: keep the loopback one."""
    if kwargs.get("token_url") is None:
        kwargs["token_url"] = provider.token_url("climate-engine")
    return kwargs


def ce_base(provider: LocalProvider) -> dict[str, Any]:
    return {
        "profile": "climate-engine",
        "client_id": "ce-client",
        "client_secret": SECRET,
        "token_url": provider.token_url("climate-engine"),
        "timeout": 5,
    }


@BUDGET
@given(data=st.data())
def test_fetch_token_any_argument(provider: LocalProvider, data: st.DataObject) -> None:
    kwargs = loopback_only(data.draw(mutated(ce_base(provider), FETCH_OPTIONS + CREDENTIALS)), provider)
    if kwargs.get("issuer") is not None:
        kwargs["timeout"] = 0.5  # discovery on loopback: an answer or a refusal, quickly
    profile = kwargs.pop("profile")
    token = call(m2mauth.fetch_token, profile, **kwargs)
    assert token is None or isinstance(token, m2mauth.Token)


@BUDGET
@given(data=st.data())
def test_fetch_token_refresh_flow_any_argument(provider: LocalProvider, data: st.DataObject) -> None:
    """The refresh flow keeps the newest refresh token across calls (in this test's own M2MAUTH_HOME)."""
    base = {
        "refresh_token": provider.issue_refresh_token("openaire"),
        "token_url": provider.token_url("openaire", "personal_refresh"),
        "timeout": 5,
    }
    kwargs = data.draw(mutated(base, ["timeout", "session", "verify", "proxies", "keep_refresh_token", "flow"]))
    token = call(m2mauth.fetch_token, "openaire", **kwargs)
    assert token is None or isinstance(token, m2mauth.Token)


@BUDGET
@given(data=st.data())
def test_build_request_any_argument(provider: LocalProvider, data: st.DataObject) -> None:
    kwargs = data.draw(mutated(ce_base(provider), ["profile", "flow", "auth_method", *CREDENTIALS]))
    kwargs.pop("timeout")
    profile = kwargs.pop("profile")
    plan = call(m2mauth.build_request, profile, **kwargs)
    assert plan is None or isinstance(plan, m2mauth.Plan)


@BUDGET
@given(data=st.data())
def test_plan_request_any_option(provider: LocalProvider, data: st.DataObject) -> None:
    base = {**ce_base(provider), "alg": None, "lifetime": None, "now": None, "basic_encoding": None}
    kwargs = data.draw(mutated(base, ["flow", "auth_method", "alg", "lifetime", "now", "basic_encoding"]))
    kwargs.pop("timeout")
    call(m2mauth.plan_request, kwargs.pop("profile"), **kwargs)


SOURCE_OPTIONS = ["store", "flow", "auth_method", "margin", "retry", "timeout", "verify", "proxies", "session"]


@BUDGET
@given(data=st.data())
def test_token_source_and_auth_any_argument(provider: LocalProvider, data: st.DataObject) -> None:
    kwargs = loopback_only(data.draw(mutated(ce_base(provider), ["profile", *SOURCE_OPTIONS, *CREDENTIALS])), provider)
    profile = kwargs.pop("profile")
    source = call(m2mauth.TokenSource, profile, **kwargs)
    if source is not None:
        token = call(source.token)
        assert token is None or isinstance(token, m2mauth.Token)
    auth = call(m2mauth.Auth, profile, **kwargs)
    assert auth is None or isinstance(auth, m2mauth.Auth)
    with_session = call(m2mauth.session, profile, **kwargs)
    if with_session is not None:
        with_session.close()
    if HttpxAuth is not None:
        call(HttpxAuth, profile, **kwargs)


@BUDGET
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "attempts": anything,
            "backoff": anything,
            "max_backoff": anything,
            "deadline": anything,
            "jitter": anything,
        },
    )
)
def test_retry_policy_any_argument(provider: LocalProvider, options: dict[str, Any]) -> None:
    policy = call(m2mauth.RetryPolicy, **options)
    if policy is not None:
        source = m2mauth.TokenSource(
            "climate-engine",
            client_id="ce-client",
            client_secret=SECRET,
            token_url=provider.token_url("climate-engine"),
            retry=policy,
            timeout=5,
        )
        assert isinstance(source.token(), m2mauth.Token)


RSA_PEM = (KEYS / "test-rsa-2048.pkcs8.pem").read_text(encoding="ascii")


@BUDGET
@given(
    claims=st.just({"iss": "me", "aud": "you"}) | anything,
    key=st.sampled_from([RSA_PEM, b"hmac-secret-of-32-bytes-at-least!", str(KEYS / "test-ec-p256.jwk.json")])
    | anything,
    options=st.fixed_dictionaries(
        {},
        optional={
            "alg": st.sampled_from(["RS256", "HS256", "ES256", "none"]) | anything,
            "kid": anything,
            "headers": st.just({"typ": "JWT"}) | anything,
            "key_password": anything,
        },
    ),
)
def test_sign_jwt_any_argument(claims: Any, key: Any, options: dict[str, Any]) -> None:
    signed = call(m2mauth.sign_jwt, claims, key, **options)
    assert signed is None or (isinstance(signed, str) and signed.count(".") == 2)


@BUDGET
@given(
    anything | st.sampled_from([RSA_PEM, str(KEYS / "test-rsa-2048.pkcs8.pem")]),
    st.fixed_dictionaries({}, optional={"password": anything, "kid": anything}),
)
def test_load_key_any_argument(value: Any, options: dict[str, Any]) -> None:
    key = call(m2mauth.load_key, value, **options)
    assert key is None or isinstance(key, m2mauth.Key)


@BUDGET
@given(anything, st.fixed_dictionaries({}, optional={"password": anything}))
def test_load_service_key_any_argument(value: Any, options: dict[str, Any]) -> None:
    call(m2mauth.load_service_key, value, **options)


@BUDGET
@given(anything, st.fixed_dictionaries({}, optional={"kid": anything}))
def test_secret_key_any_argument(value: Any, options: dict[str, Any]) -> None:
    call(m2mauth.secret_key, value, **options)


@BUDGET
@given(anything | st.sampled_from(m2mauth.list_profiles()))
def test_load_profile_any_argument(value: Any) -> None:
    profile = call(m2mauth.load_profile, value)
    assert profile is None or isinstance(profile, m2mauth.Profile)


@BUDGET
@given(
    anything | st.just("eyJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJ4In0.c2ln"),
    st.fixed_dictionaries(
        {},
        optional={
            "profile": anything | st.sampled_from(m2mauth.list_profiles()),
            "now": anything,
            "key": anything,
            "token_url": anything,
        },
    ),
)
def test_inspect_any_argument(jwt: Any, options: dict[str, Any]) -> None:
    diagnosis = call(m2mauth.inspect, jwt, **options)
    assert diagnosis is None or isinstance(diagnosis, m2mauth.Diagnosis)


@BUDGET
@given(
    anything,
    st.fixed_dictionaries(
        {}, optional={"profile": anything | st.sampled_from(m2mauth.list_profiles()), "status": anything}
    ),
)
def test_explain_any_argument(value: Any, options: dict[str, Any]) -> None:
    explanation = call(m2mauth.explain, value, **options)
    assert explanation is None or isinstance(explanation, m2mauth.Explanation)


@BUDGET
@given(
    anything,
    anything,
    st.fixed_dictionaries({}, optional={"now": anything, "default_lifetime": anything, "url": anything}),
)
def test_parse_token_response_any_argument(status: Any, body: Any, options: dict[str, Any]) -> None:
    call(m2mauth.parse_token_response, status, body, **options)


@BUDGET
@given(data=st.data())
def test_make_assertion_any_argument(data: st.DataObject) -> None:
    base: dict[str, Any] = {"issuer": "me", "audience": "https://127.0.0.1/token", "alg": "RS256"}
    names = ["issuer", "audience", "subject", "alg", "kid", "lifetime", "max_lifetime", "with_jti", "now"]
    kwargs = data.draw(mutated(base, names))
    key = m2mauth.load_key(RSA_PEM)
    call(m2mauth.make_assertion, key, **kwargs)


@BUDGET
@given(anything)
def test_file_store_any_path(tmp_path_factory: pytest.TempPathFactory, path: Any) -> None:
    if isinstance(path, str | bytes) and path:
        path = tmp_path_factory.mktemp("store") / (path if isinstance(path, str) else path.decode("latin-1"))
    call(m2mauth.FileStore, path)


@BUDGET
@given(anything, st.fixed_dictionaries({}, optional={"prefix": anything}))
def test_redis_store_any_argument(url: Any, options: dict[str, Any]) -> None:
    # RedisStore(42) was accepted and failed later inside redis-py; a text URL is read on first use.
    store = call(m2mauth.RedisStore, url, **options)
    if store is not None:
        call(store.get, "m2mauth:test")


@BUDGET
@given(
    st.sampled_from(["client_secret_basic", "client_secret_post"]),
    st.fixed_dictionaries({}, optional={"client_id": anything, "client_secret": anything}),
)
def test_client_auth_any_argument(method: str, fields: dict[str, Any]) -> None:
    # ClientAuth(client_secret=5) was accepted and sent as "5"; only text is a secret.
    fields.setdefault("client_id", "pub-arg-client")
    fields.setdefault("client_secret", SECRET)
    client = call(m2mauth.ClientAuth, method, **fields)
    if client is not None:
        assert isinstance(client.client_id, str) and isinstance(client.client_secret, str)


@BUDGET
@given(st.fixed_dictionaries({}, optional={"timeout": anything, "session": anything}))
def test_discover_any_argument(provider: LocalProvider, options: dict[str, Any]) -> None:
    options.setdefault("timeout", 0.5)
    call(m2mauth.discover, provider.base_url + "/nowhere", **options)


@BUDGET
@given(data=st.data())
def test_exchange_any_argument(provider: LocalProvider, data: st.DataObject) -> None:
    plan = m2mauth.build_request(**{k: v for k, v in ce_base(provider).items() if k != "timeout"})
    base: dict[str, Any] = {"request": plan.request, "timeout": 5}
    names = ["request", "profile", "timeout", "session", "verify", "proxies", "default_lifetime", "clock"]
    kwargs = data.draw(mutated(base, names))
    token = call(m2mauth.exchange, kwargs.pop("request"), **kwargs)
    assert token is None or isinstance(token, m2mauth.Token)


@pytest.fixture(scope="module")
def device_provider() -> Iterator[LocalProvider]:
    with LocalProvider(device_interval=0) as running:  # polls answer at once: no waiting in this test
        yield running


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_login_and_logout_any_argument(device_provider: LocalProvider, data: st.DataObject) -> None:
    """A device login approved over HTTP by the prompt callback, as a person in a browser would."""

    def approve(authorization: Any) -> None:
        device_provider.approve_device(authorization.user_code)

    base: dict[str, Any] = {
        "prompt": approve,
        "store": m2mauth.MemoryStore(),
        "timeout": 5,
        "client_id": "cdse-public",
        "token_url": device_provider.token_url("cdse-openeo"),
        "device_authorization_url": device_provider.device_authorization_url("cdse-openeo"),
    }
    names = ["prompt", "store", "timeout", "session", "sleep", "client_id", "scope"]
    kwargs = data.draw(mutated(base, names))
    for name in ("token_url", "device_authorization_url"):
        if not isinstance(kwargs.get(name), str):  # never the profile's production endpoints
            kwargs[name] = base[name]
    # A callback is the caller's code (its own exceptions are its own); None would wait for a person.
    if kwargs["prompt"] is None or callable(kwargs["prompt"]):
        kwargs["prompt"] = approve
    if callable(kwargs.get("sleep")):
        del kwargs["sleep"]
    token = call(m2mauth.login, "cdse-openeo", **kwargs)
    assert token is None or isinstance(token, m2mauth.Token)
    store = kwargs["store"] if isinstance(kwargs["store"], m2mauth.MemoryStore) else m2mauth.MemoryStore()
    call(m2mauth.logout, "cdse-openeo", store=data.draw(st.just(store) | anything), client_id="cdse-public")
