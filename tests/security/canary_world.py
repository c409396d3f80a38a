"""The local provider of the canary run and what is registered with it (the world fixture is in conftest.py)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from canary_values import Canaries, key_needles
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

import m2mauth
from m2mauth.testing import LocalProvider

TIMEOUT = 10.0
QUICK = m2mauth.RetryPolicy(attempts=2, backoff=0.01, max_backoff=0.05, deadline=5.0, jitter=0.0)


# -- the local provider and what is registered with it --------------------------------------------


@dataclass
class World:
    provider: LocalProvider
    c: Canaries
    folder: Path
    service_key: dict[str, str]
    service_key_file: Path
    key_file: Path  # the canary key, PKCS#8, encrypted with the canary passphrase (mode 0600)
    plain_key_file: Path  # the same key unencrypted (mode 0600)
    closed_port: int  # a loopback port nobody listens on
    device_codes: set[str] = field(default_factory=set)

    def url(self, profile: str, flow: str | None = None) -> str:
        return self.provider.token_url(profile, flow)

    def refresh(self, profile: str, client_id: str | None = None) -> str:
        return self.provider.issue_refresh_token(profile, client_id)

    def needles(self) -> dict[str, set[str]]:
        out = self.c.needles()
        service_pem = self.service_key["private_key"]
        service = serialization.load_pem_private_key(service_pem.encode(), None)
        assert isinstance(service, rsa.RSAPrivateKey)
        out["CLMS service key"] = key_needles(service)
        return out


def private_file(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    return path


def issued_by(provider: LocalProvider) -> set[str]:
    """Every access token, refresh token (live or spent) and pending device code the provider knows of."""
    state = provider._state  # the test provider's memory: the other side of every exchange
    with state.lock:
        return set(state._tokens) | set(state._refresh) | set(state._rotated) | set(state._devices)


@contextlib.contextmanager
def auto_approve(world: World) -> Iterator[None]:
    """A user who approves every pending device login at once (and whose device codes are canaries)."""
    stop = threading.Event()
    state = world.provider._state

    def loop() -> None:
        while not stop.wait(0.05):
            with state.lock:
                pending = [grant for grant in state._devices.values() if grant.status == "pending"]
            for grant in pending:
                world.device_codes.add(grant.device_code)
                with contextlib.suppress(LookupError):
                    world.provider.approve_device(grant.user_code)

    thread = threading.Thread(target=loop, name="canary-approver", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)
