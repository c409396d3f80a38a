"""Fixtures shared by the canary run and the CLI fuzz: a clean environment and a closed loopback port.

Nothing here is autouse, so the transport security tests in this folder are not affected.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

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
