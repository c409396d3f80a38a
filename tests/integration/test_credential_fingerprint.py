"""A cached token is never handed out for other credentials (issue 8, part 2).

Before part 2 the cache key named only the profile, endpoint, client id and scope: a TokenSource
or ``m2mauth token`` given a WRONG client secret (or a service key with another private key)
after a success with the right one answered with the cached token. Now the key also covers a
keyed fingerprint (HMAC-SHA256 under a random 0600 key file) of the secret material, so the
wrong credentials reach the provider, which refuses them. Real HTTP against the LocalProvider;
the CLI runs as a separate process.
"""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from m2mauth import FileStore, M2MAuthError, TokenEndpointError, TokenSource
from m2mauth.fingerprint import FINGERPRINT_KEY_FILE
from m2mauth.testing import LocalProvider

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes")

CLIENT_ID = "fingerprint-client"
RIGHT = "fingerprint-canary-right-secret"
WRONG = "fingerprint-canary-wrong-secret"
CLI_TIMEOUT = 120


@pytest.fixture
def provider() -> Iterator[LocalProvider]:
    with LocalProvider(token_lifetime=600) as server:
        server.add_client("generic", CLIENT_ID, RIGHT)
        yield server


def generic(provider: LocalProvider, store: FileStore, secret: str) -> TokenSource:
    return TokenSource(
        "generic", token_url=provider.token_url("generic"), client_id=CLIENT_ID, client_secret=secret, store=store
    )


def token_requests(provider: LocalProvider) -> int:
    return sum(1 for r in provider.requests_log if r.token_endpoint)


def test_a_wrong_client_secret_gets_the_providers_error_not_the_cached_token(
    provider: LocalProvider, tmp_path: Path
) -> None:
    store = FileStore(tmp_path / "store")
    good = generic(provider, store, RIGHT).token()
    assert generic(provider, FileStore(tmp_path / "store"), RIGHT).token().access_token == good.access_token  # cached
    assert token_requests(provider) == 1
    with pytest.raises(TokenEndpointError) as caught:
        generic(provider, FileStore(tmp_path / "store"), WRONG).token()
    assert caught.value.code == "invalid_client"
    assert token_requests(provider) == 2  # the wrong secret reached the provider
    assert (
        generic(provider, store, RIGHT).token().access_token == good.access_token
    )  # and the right one's token is still cached


def test_a_service_key_with_another_private_key_is_refused(provider: LocalProvider, tmp_path: Path) -> None:
    service_key = provider.make_clms_service_key()
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = {
        **service_key,
        "private_key": other.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        ).decode("ascii"),
    }
    store = FileStore(tmp_path / "store")
    TokenSource("clms", service_key=service_key, store=store).token()
    with pytest.raises(TokenEndpointError):
        TokenSource("clms", service_key=forged, store=FileStore(tmp_path / "store")).token()
    assert token_requests(provider) == 2


def test_changed_credentials_mean_a_new_request(provider: LocalProvider, tmp_path: Path) -> None:
    provider.add_user("generic", "ada", "first-password")
    store = FileStore(tmp_path / "store")
    common = {"token_url": provider.token_url("generic"), "username": "ada", "store": store}
    first = TokenSource("generic", password="first-password", **common).token()
    with pytest.raises(TokenEndpointError) as caught:
        TokenSource("generic", password="second-password", **common).token()
    assert caught.value.code == "invalid_grant"
    assert TokenSource("generic", password="first-password", **common).token().access_token == first.access_token


def test_the_fingerprint_is_keyed_and_reveals_nothing(provider: LocalProvider, tmp_path: Path) -> None:
    store = FileStore(tmp_path / "store")
    source = generic(provider, store, RIGHT)
    source.token()
    key_file = tmp_path / "store" / FINGERPRINT_KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600 and len(bytes.fromhex(key_file.read_text())) == 32
    bare = hashlib.sha256(RIGHT.encode()).hexdigest()
    assert RIGHT not in source.key and bare[:16] not in source.key
    blob = b"".join(p.read_bytes() for p in (tmp_path / "store").rglob("*") if p.is_file())
    assert RIGHT.encode() not in blob and bare[:16].encode() not in blob
    # Another store has another key: the same secret's fingerprint differs (no global dictionary).
    assert generic(provider, FileStore(tmp_path / "other"), RIGHT).key != source.key


def test_a_refresh_token_key_is_not_a_bare_hash(provider: LocalProvider, tmp_path: Path) -> None:
    refresh = provider.issue_refresh_token("openaire")
    source = TokenSource(
        "openaire",
        refresh_token=refresh,
        token_url=provider.token_url("openaire", "refresh"),
        store=FileStore(tmp_path),
    )
    assert hashlib.sha256(refresh.encode()).hexdigest()[:16] not in source.key


def run_cli(home: Path, *args: str, secret: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "M2MAUTH_HOME": str(home)}
    env.pop("M2MAUTH_CLIENT_SECRET", None)
    return subprocess.run(
        [sys.executable, "-m", "m2mauth", "token", *args, "--client-secret", "-"],
        input=secret + "\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=CLI_TIMEOUT,
        check=False,
    )


def test_cli_token_with_a_wrong_secret_after_a_right_one(provider: LocalProvider, tmp_path: Path) -> None:
    home = tmp_path / "home"
    args = ("generic", "--client-id", CLIENT_ID, "--token-url", provider.token_url("generic"))
    right = run_cli(home, *args, secret=RIGHT)
    assert right.returncode == 0, right.stderr[-2000:]
    token = right.stdout.strip()
    assert token
    wrong = run_cli(home, *args, secret=WRONG)
    assert wrong.returncode != 0
    assert token not in wrong.stdout and token not in wrong.stderr
    assert "invalid_client" in wrong.stderr
    assert WRONG not in wrong.stdout + wrong.stderr
    again = run_cli(home, *args, secret=RIGHT)  # the right secret still gets the cached token
    assert again.returncode == 0 and again.stdout.strip() == token
    assert token_requests(provider) == 2


def test_a_store_key_that_cannot_be_written_is_an_m2mauth_error(tmp_path: Path) -> None:
    (tmp_path / "store").mkdir()
    (tmp_path / "store" / FINGERPRINT_KEY_FILE).mkdir()  # a folder where the key file should be
    with pytest.raises(M2MAuthError) as caught:
        FileStore(tmp_path / "store").fingerprint_key()
    assert caught.value.code == "store_unwritable"
    assert caught.value.hint and "FileStore" in caught.value.hint
