"""Fixtures shared by the canary run and the CLI fuzz: a clean environment and a closed loopback port;
and the canary run's world (a local provider with canary credentials) and watches (test_canary_*.py).

Nothing here is autouse, so the transport security tests in this folder are not affected.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from canary_values import Canaries
from canary_watch import Watch
from canary_world import World, private_file

import m2mauth
from m2mauth.testing import LocalProvider

#: Variables through which credentials, proxies or a token store could leak in from the machine.
ENV_PREFIXES = ("M2MAUTH_", "DT_SERVICE_ACCOUNT_", "OPENEO_AUTH_")
PROXY_VARIABLES = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


@pytest.fixture()
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No credential, proxy or debug variable from the outside; the default token store in tmp_path."""
    for name in list(os.environ):
        if name.startswith(ENV_PREFIXES) or name.upper() in PROXY_VARIABLES:
            monkeypatch.delenv(name, raising=False)
    home = tmp_path / "m2mauth-home"
    monkeypatch.setenv("M2MAUTH_HOME", str(home))
    return home


def free_closed_port() -> int:
    """A loopback port nobody listens on (bound once, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture(scope="session")
def closed_port() -> int:
    return free_closed_port()


# -- the canary run (test_canary_*.py) ------------------------------------------------------------


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, closed_port: int) -> Iterator[World]:
    c = Canaries.make()
    folder = tmp_path_factory.mktemp("canary")
    with LocalProvider(token_lifetime=600, device_interval=1) as provider:
        service_key = provider.make_clms_service_key()
        provider.add_dt_service_account("dt-canary-kid", c.hmac_secret, "svc@canary.serviceaccount.example")
        public_jwk = m2mauth.load_key(c.pem).public_jwk()
        provider.add_client("openaire", "oa-basic", client_secret=c.client_secret)
        provider.add_client("openaire", "oa-advanced", public_jwk={**public_jwk, "kid": "oa-kid"})
        provider.add_client("climate-engine", "ce-client", client_secret=c.client_secret)
        provider.add_user("climate-engine", "ce-user@example.org", c.password)
        provider.add_client("cdse-openeo", "cdse-svc", client_secret=c.client_secret)
        provider.add_client("generic", "gen-secret", client_secret=c.client_secret)
        provider.add_client("generic", "gen-key", public_jwk={**public_jwk, "kid": "gen-kid"})
        provider.add_user("generic", "gen-user", c.password)
        yield World(
            provider=provider,
            c=c,
            folder=folder,
            service_key=service_key,
            service_key_file=private_file(folder / "land-copernicus.json", json.dumps(service_key)),
            key_file=private_file(folder / "service.encrypted.pem", c.encrypted_pem),
            plain_key_file=private_file(folder / "service.pem", c.pem),
            closed_port=closed_port,
        )


@pytest.fixture()
def watch(world: World, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> Watch:
    return Watch(world, capfd, caplog)


@pytest.fixture()
def cli_watch(world: World, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> Watch:
    return Watch(world, capsys, caplog)
