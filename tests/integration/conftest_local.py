"""Helpers for the tests that use m2mauth as a user would, against :class:`m2mauth.testing.LocalProvider`.

* Keeping the machine out: the credentials, proxies and provider files of whoever runs the tests must
  not leak in (:func:`clean_environment`, :func:`isolated_home`).
* Running the CLI in-process, stdin given and stdout/stderr captured (the ``run`` fixture,
  :func:`invoke_cli`), or as a subprocess importing this checkout (:func:`checkout_environment`).
* Asking the provider: its protected resource (:func:`resource`, :func:`resource_ok`) and its log of
  token requests (:func:`token_posts`).

The fixtures ``provider`` and ``run`` are re-exported by ``conftest.py``; a module that needs another
provider (other lifetimes, clients added) defines its own ``provider``.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

import m2mauth
from m2mauth import cli
from m2mauth.testing import LocalProvider

__all__ = [
    "HTTP_TIMEOUT",
    "PROXY_VARIABLES",
    "Result",
    "Run",
    "checkout_environment",
    "clean_environment",
    "invoke_cli",
    "isolated_home",
    "provider",
    "resource",
    "resource_ok",
    "run",
    "token_posts",
]

HTTP_TIMEOUT = 10
PYTHON_DIR = Path(__file__).resolve().parents[2] / "python"
PROXY_VARIABLES = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY")


# -- keeping the machine out -------------------------------------------------------------------------


def clean_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, prefixes: tuple[str, ...], *, m2mauth_home: str
) -> Path:
    """Remove every variable whose name starts with one of ``prefixes`` (a whole name is its own prefix)
    and the proxy settings; M2MAUTH_HOME becomes ``tmp_path / m2mauth_home``, which is returned."""
    for name in list(os.environ):
        if name.startswith(prefixes) or name.upper() in PROXY_VARIABLES:
            monkeypatch.delenv(name, raising=False)
    home = tmp_path / m2mauth_home
    monkeypatch.setenv("M2MAUTH_HOME", str(home))
    return home


def isolated_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, *variables: str) -> Path:
    """:func:`clean_environment` for M2MAUTH_* and ``variables`` (where a provider's tool looks for its
    file), and HOME an empty folder: a provider file in ``~`` is there only if the test writes it."""
    clean_environment(monkeypatch, tmp_path, ("M2MAUTH_", *variables), m2mauth_home="m2mauth-home")
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    return home


def checkout_environment() -> dict[str, str]:
    """This process's environment for a subprocess that must import this checkout's m2mauth."""
    path = os.pathsep.join(filter(None, [str(PYTHON_DIR), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path}


# -- the CLI in-process ------------------------------------------------------------------------------


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def both(self) -> str:
        return self.out + self.err


Run = Callable[..., Result]


def invoke_cli(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, argv: Sequence[str], stdin: str = ""
) -> Result:
    """``m2mauth ARGV`` through ``cli.main``, with ``stdin`` as its standard input."""
    capsys.readouterr()  # drop what came before: the result holds this command's output only
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return Result(code, captured.out, captured.err)


@pytest.fixture()
def run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Run:
    """``run(*argv, stdin="")``: :func:`invoke_cli` for this test."""

    def invoke(*argv: str, stdin: str = "") -> Result:
        return invoke_cli(capsys, monkeypatch, argv, stdin)

    return invoke


# -- the provider ------------------------------------------------------------------------------------


@pytest.fixture()
def provider() -> Iterator[LocalProvider]:
    with LocalProvider(token_lifetime=600) as running:
        yield running


def _resource_answer(provider: LocalProvider, token: m2mauth.Token | str) -> requests.Response:
    # A bare access token is sent as Bearer; a Token as its profile presents it.
    authorization = token.authorization if isinstance(token, m2mauth.Token) else f"Bearer {token}"
    return requests.get(provider.resource_url, headers={"Authorization": authorization}, timeout=HTTP_TIMEOUT)


def resource(provider: LocalProvider, token: m2mauth.Token | str) -> dict[str, Any]:
    """The protected resource's answer to the token; it must be accepted."""
    answer = _resource_answer(provider, token)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def resource_ok(provider: LocalProvider, token: m2mauth.Token | str) -> bool:
    """Whether the protected resource accepts the token."""
    return _resource_answer(provider, token).status_code == 200


def token_posts(provider: LocalProvider, profile: str | None = None) -> list[Any]:
    """The token requests the provider received (of one profile, if given), oldest first."""
    return [r for r in provider.requests_log if r.token_endpoint and (profile is None or r.profile == profile)]
