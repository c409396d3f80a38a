"""The fault suite's bench: canaries, a Bench of provider + proxy + FileStore, and its checks.

A :class:`Bench` builds clients with recognisable canary secrets, runs a call against a deadline
(a generous upper bound, never a tight timing check), and checks the three promises of the suite:
typed outcome, no secret anywhere, a consistent store. Each test adds a row to :data:`TABLE`,
which conftest.py writes out when ``M2MAUTH_FAULTS_TABLE`` names a file.
"""

from __future__ import annotations

import json
import logging
import os
import stat
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from tcp_proxy import FaultProxy

from m2mauth import FileStore, M2MAuthError, RetryPolicy, TokenEndpointError, TokenSource
from m2mauth.testing import LocalProvider
from m2mauth.tokens import Token

# Canaries: recognisable values that must never show up in an error, a log line, stdout or stderr.
CLIENT_ID = "fault-client"
CLIENT_SECRET = "FAULT-CANARY-client-secret-5Jq8Zr2W"
PROXY_USER = "fault-proxy-user"
PROXY_PASSWORD = "FAULT-CANARY-proxy-pass-Xk3Lm9Tb"
DT_SECRET = "FAULT-CANARY-dt-secret-Hv7Np4Qs"
SLACK = 5.0  # seconds added to every deadline in the upper-bound check: CI machines are slow, never tight
HTTP_TIMEOUT = 5.0


@dataclass
class Outcome:
    """What the caller got: a token or a typed error, and how long it took."""

    token: Token | None
    error: M2MAuthError | None
    elapsed: float

    @property
    def code(self) -> str | None:
        return self.error.code if self.error else None

    def text(self) -> str:
        """Everything a person could see of the error: message, hint, excerpt, repr, traceback, causes."""
        if self.error is None:
            return ""
        parts = [str(self.error), repr(self.error), "".join(traceback.format_exception(self.error))]
        if isinstance(self.error, TokenEndpointError):
            parts += [self.error.excerpt or "", self.error.error_description or ""]
        seen: set[int] = set()
        link: BaseException | None = self.error
        while link is not None and id(link) not in seen:  # the whole chain, suppressed context included
            seen.add(id(link))
            parts += [str(link), repr(link)]
            link = link.__cause__ or link.__context__
        return "\n".join(parts)


@dataclass
class Row:
    fault: str
    injected: str
    outcome: str
    retried: str
    store: str


@dataclass
class Table:
    rows: list[Row] = field(default_factory=list)

    def write(self, path: str) -> None:
        lines = [
            "| fault | how it is injected | what the caller gets | retried? | store after |",
            "|---|---|---|---|---|",
        ]
        lines += [f"| {r.fault} | {r.injected} | {r.outcome} | {r.retried} | {r.store} |" for r in self.rows]
        Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")


TABLE = Table()


class Bench:
    """A provider, a fault proxy in front of it, a FileStore, and the suite's checks."""

    def __init__(
        self,
        provider: LocalProvider,
        proxy: FaultProxy,
        store_path: Path,
        caplog: pytest.LogCaptureFixture,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        self.provider, self.proxy, self.store_path = provider, proxy, store_path
        self.caplog, self.capsys = caplog, capsys
        caplog.set_level(logging.DEBUG)  # every logger, urllib3's included, from the first request on
        self.store = FileStore(store_path)
        self.secrets: list[str] = [CLIENT_SECRET, PROXY_PASSWORD, DT_SECRET]
        self.tokens_seen: list[str] = []
        provider.add_client("generic", CLIENT_ID, CLIENT_SECRET)

    # -- clients ------------------------------------------------------------------------------

    def token_url(self, *, via_proxy: bool = False) -> str:
        """The generic token endpoint, directly or through the fault proxy (transparently)."""
        url = self.provider.token_url("generic")
        return url.replace(self.provider.base_url, self.proxy.url) if via_proxy else url

    def source(self, *, via_proxy: bool = False, retry: RetryPolicy, timeout: float, **options: Any) -> TokenSource:
        """A client_credentials TokenSource with the canary secret, keeping its token in the FileStore."""
        return TokenSource(
            "generic",
            token_url=self.token_url(via_proxy=via_proxy),
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            store=self.store,
            retry=retry,
            timeout=timeout,
            **options,
        )

    def prime(self, source: TokenSource) -> Token:
        """A first token, fetched with no fault and stored."""
        token = source.token()
        self.tokens_seen.append(token.access_token)
        assert self.store.get(source.key) is not None
        return token

    # -- running ------------------------------------------------------------------------------

    def run(self, call: Callable[[], Token], *, deadline: float) -> Outcome:
        """Call once; a token or an M2MAuthError is an outcome, any other exception fails the test."""
        started = time.monotonic()
        token: Token | None = None
        error: M2MAuthError | None = None
        try:
            token = call()
        except M2MAuthError as exc:
            error = exc
        elapsed = time.monotonic() - started
        assert elapsed < deadline + SLACK, f"took {elapsed:.1f} s, the deadline is {deadline} s"
        if token is not None:
            self.tokens_seen.append(token.access_token)
            assert token.access_token
        return Outcome(token, error, elapsed)

    # -- checks -------------------------------------------------------------------------------

    def usable(self, token: Token) -> bool:
        """The provider's protected resource accepts the token."""
        answer = requests.get(
            self.provider.resource_url,
            headers={"Authorization": f"Bearer {token.access_token}"},
            timeout=HTTP_TIMEOUT,
        )
        return answer.status_code == 200

    def assert_no_secrets(self, outcome: Outcome, *more: str) -> None:
        """No canary and no access token in the error, the logs (DEBUG, every logger), stdout or stderr."""
        captured = self.capsys.readouterr()
        records = "\n".join(r.getMessage() for r in self.caplog.records)
        seen = {
            "error": outcome.text(),
            "log": self.caplog.text + "\n" + records,
            "stdout": captured.out,
            "stderr": captured.err,
        }
        for secret in [*self.secrets, *self.tokens_seen, *more]:
            for where, text in seen.items():
                assert secret not in text, f"a secret ({secret[:12]}...) is in the {where}"

    def assert_store(self, source: TokenSource, *, holds: Token | None, earlier: Token | None = None) -> str:
        """Every record readable JSON without the client secret, mode 0600, no temporary file left; and
        ``holds`` (when given) still the stored token, accepted by the provider. A summary for the table."""
        folder = self.store_path / "tokens"
        files = sorted(folder.glob("*.json")) if folder.exists() else []
        leftovers = sorted(folder.glob(".tmp-*")) if folder.exists() else []
        assert not leftovers, f"temporary files left in the store: {leftovers}"
        for path in files:
            text = path.read_text(encoding="utf-8")
            record = json.loads(text)
            assert isinstance(record, dict) and isinstance(record.get("access_token"), str)
            assert CLIENT_SECRET not in text
            if os.name == "posix":
                assert stat.S_IMODE(path.stat().st_mode) == 0o600
        stored = self.store.get(source.key)
        if holds is None:
            assert stored is None, "a token was stored although the caller got none"
            return "absent"
        assert stored is not None, "the stored token is gone"
        assert stored.access_token == holds.access_token
        assert self.usable(stored), "the stored token is no longer accepted"
        if earlier is not None and earlier.access_token == holds.access_token:
            return "earlier token kept, usable"
        return "new token, usable"

    def record(self, fault: str, injected: str, outcome: Outcome, retried: str, store: str) -> None:
        """One row of the README table, from what this test observed."""
        if outcome.error is None:
            got = "token"
        else:
            got = f"`{type(outcome.error).__name__}` `{outcome.code}`"
            provider_code = getattr(outcome.error, "provider_code", None)
            if provider_code:
                got += f" (provider_code `{provider_code}`)"
        TABLE.rows.append(Row(fault, injected, f"{got} in {outcome.elapsed:.1f} s", retried, store))
