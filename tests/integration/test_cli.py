"""The ``m2mauth`` command line against the local provider on 127.0.0.1.

Commands run in-process through ``m2mauth.cli.main(argv)`` with stdout and stderr captured (one
subprocess smoke test checks ``python -m m2mauth.cli --help``). Every network call has a timeout:
the CLI's own ``--timeout`` and ``timeout=`` on the test's requests.
"""

from __future__ import annotations

import json
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from m2mauth import cli
from m2mauth.profiles import list_profiles
from m2mauth.testing import LocalProvider

try:  # tests/integration as a package (an __init__.py exists)
    from .conftest_local import (  # type: ignore[import-not-found, unused-ignore]
        Result,
        Run,
        checkout_environment,
        clean_environment,
        resource_ok,
    )
except ImportError:  # rootdir-style import: this folder is on sys.path
    from conftest_local import Result, Run, checkout_environment, clean_environment, resource_ok

ROOT = Path(__file__).resolve().parents[2]
SEED_GRANT = ROOT / "tests" / "python" / "fixtures" / "clms_seed_grant.txt"
CANARY = "canary-Secret-7f3e-DO-NOT-PRINT"
ENV_PREFIXES = ("M2MAUTH_", "DT_SERVICE_ACCOUNT_", "OPENEO_AUTH_")


@pytest.fixture(autouse=True)
def no_machine_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No credentials, proxies or stores leak in from the machine running the tests."""
    clean_environment(monkeypatch, tmp_path, ENV_PREFIXES, m2mauth_home="default-home")


@pytest.fixture()
def service_key_file(provider: LocalProvider, tmp_path: Path) -> Path:
    path = tmp_path / "land-copernicus.json"
    path.write_text(json.dumps(provider.make_clms_service_key()), encoding="utf-8")
    path.chmod(0o600)
    return path


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# -- help, usage, exit codes ---------------------------------------------------------------------


def test_help_runs_as_a_module_in_a_subprocess() -> None:
    env = checkout_environment()
    done = subprocess.run(
        [sys.executable, "-m", "m2mauth.cli", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    for word in ("token", "inspect", "doctor", "login", "logout", "status", "keygen", "profiles", "vectors"):
        assert word in done.stdout
    assert "exit status" in done.stdout and "4  transport error" in done.stdout
    assert done.stderr == ""


@pytest.mark.parametrize(
    "command",
    [
        ["token"],
        ["inspect"],
        ["doctor"],
        ["login"],
        ["logout"],
        ["status"],
        ["keygen"],
        ["profiles"],
        ["profiles", "show"],
        ["profiles", "list"],
        ["vectors"],
        ["vectors", "verify"],
    ],
    ids=" ".join,
)
def test_every_command_has_help_with_an_example(run: Run, command: list[str]) -> None:
    result = run(*command, "--help")
    assert result.code == cli.EXIT_OK
    assert "example" in result.out
    assert f"m2mauth {command[0]}" in result.out


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["frobnicate"],
        ["token"],
        ["token", "clms", "--header", "--json"],
        ["token", "clms", "--store", "x", "--no-store"],
        ["token", "clms", "--show-secrets"],
        ["token", "clms", "--client-secret", "-", "--password", "-"],
        ["doctor", "clms", "--send"],
        ["doctor", "clms", "--jwt", "a.b.c", "--json-body"],
        ["doctor", "clms", "--jwt", "-", "--client-secret", "-"],
        ["keygen"],
        ["keygen", "--kid", "k", "--bits", "1024"],
        ["keygen", "--kid", "has space"],
        ["vectors"],
        ["token", "clms", "--servicekey", "x"],
        ["token", "clms", "--timeout", "0"],
    ],
    ids=lambda argv: " ".join(argv) or "(nothing)",
)
def test_usage_errors_exit_2_without_a_traceback(run: Run, argv: list[str]) -> None:
    result = run(*argv, stdin="one line\n")
    assert result.code == cli.EXIT_USAGE
    assert "error [usage]:" in result.err and "hint:" in result.err
    assert "Traceback" not in result.both


def test_version(run: Run) -> None:
    result = run("--version")
    assert result.code == 0 and result.out.startswith("m2mauth ")


def test_config_error_exits_3_with_code_and_hint(run: Run, tmp_path: Path) -> None:
    result = run("token", "clms", "--service-key", str(tmp_path / "missing.json"), "--no-store")
    assert result.code == cli.EXIT_CONFIG
    assert "error [key_file_not_found]:" in result.err
    assert "hint: " in result.err
    assert result.out == ""


def test_unknown_profile_exits_3(run: Run) -> None:
    result = run("profiles", "show", "no-such-provider")
    assert result.code == cli.EXIT_CONFIG
    assert "error [unknown_profile]" in result.err and "clms" in result.err


def test_refused_token_exits_1(run: Run, provider: LocalProvider) -> None:
    provider.add_client("generic", "cli-client", client_secret="the-right-secret")
    result = run(
        "token", "generic", "--client-id", "cli-client", "--client-secret", "-", "--no-store",
        "--token-url", provider.token_url("generic"), "--timeout", "10",
        stdin=CANARY + "\n",
    )  # fmt: skip
    assert result.code == cli.EXIT_FAILED
    assert "error [invalid_client]:" in result.err and "hint:" in result.err
    assert "m2mauth doctor generic" in result.err
    assert CANARY not in result.both


def test_unreachable_token_url_exits_4(run: Run) -> None:
    url = f"http://127.0.0.1:{closed_port()}/oauth/token"
    result = run(
        "token", "generic", "--client-id", "c", "--client-secret", "-", "--token-url", url, "--no-store",
        "--timeout", "2",
        stdin=CANARY + "\n",
    )  # fmt: skip
    assert result.code == cli.EXIT_TRANSPORT
    assert "error [connection_error]:" in result.err
    assert CANARY not in result.both


def test_an_unexpected_error_is_one_line_and_exit_5(run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(args: Any, console: Any) -> int:
        raise RuntimeError(f"internal detail {CANARY}")

    monkeypatch.setattr(cli.profiles, "cmd_profiles", broken)
    result = run("profiles")
    assert result.code == cli.EXIT_OTHER
    assert result.err.startswith("error [internal_error]: unexpected RuntimeError")
    assert "Traceback" not in result.both and CANARY not in result.both
    monkeypatch.setenv("M2MAUTH_DEBUG", "1")
    with pytest.raises(RuntimeError):
        cli.main(["profiles"])


def test_ctrl_c_exits_5(run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(args: Any, console: Any) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli.login, "cmd_status", interrupted)
    result = run("status")
    assert result.code == cli.EXIT_OTHER and "error [interrupted]" in result.err


# -- token, status, logout ------------------------------------------------------------------------


def test_token_with_an_encrypted_clms_service_key_and_key_password(
    run: Run, provider: LocalProvider, tmp_path: Path
) -> None:
    passphrase = "a passphrase for the CLMS key"
    service_key = provider.make_clms_service_key()
    private = serialization.load_pem_private_key(service_key["private_key"].encode(), password=None)
    service_key["private_key"] = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(passphrase.encode()),
    ).decode()
    key_file = tmp_path / "encrypted-service-key.json"
    key_file.write_text(json.dumps(service_key), encoding="utf-8")
    key_file.chmod(0o600)

    refused = run("token", "clms", "--service-key", str(key_file), "--no-store")
    assert refused.code == cli.EXIT_CONFIG and "error [key_password_required]" in refused.err
    assert "hint: Pass the passphrase with --key-password" in refused.err  # the CLI's option, not key_password=

    result = run("token", "clms", "--service-key", str(key_file), "--key-password", "-", "--no-store",
                 stdin=passphrase + "\n")  # fmt: skip
    assert result.code == 0, result.err
    assert resource_ok(provider, result.out.strip()) and passphrase not in result.err


def test_token_prints_the_token_and_fills_the_store(
    run: Run, provider: LocalProvider, service_key_file: Path, tmp_path: Path
) -> None:
    store = str(tmp_path / "store")
    first = run("token", "clms", "--service-key", str(service_key_file), "--store", store, "--timeout", "10")
    assert first.code == 0, first.err
    token = first.out.strip()
    assert first.out == token + "\n" and resource_ok(provider, token)
    assert provider.token_requests("clms") == 1

    again = run("token", "clms", "--service-key", str(service_key_file), "--store", store, "--header")
    assert again.code == 0
    assert again.out == f"Authorization: Bearer {token}\n"
    assert provider.token_requests("clms") == 1  # from the store

    as_json = run("token", "clms", "--service-key", str(service_key_file), "--store", store, "--json")
    record = json.loads(as_json.out)
    assert record["access_token"] == "<redacted>" and record["profile"] == "clms"
    assert 0 < record["expires_in"] <= 600 and token not in as_json.out

    shown = run("token", "clms", "--service-key", str(service_key_file), "--store", store, "--json", "--show-secrets")
    assert json.loads(shown.out)["access_token"] == token

    one_off = run("token", "clms", "--service-key", str(service_key_file), "--no-store")
    assert one_off.code == 0 and one_off.out.strip() != token
    assert provider.token_requests("clms") == 2

    files = list((tmp_path / "store" / "tokens").glob("*.json"))
    assert len(files) == 1 and stat.S_IMODE(files[0].stat().st_mode) == 0o600


def test_token_uses_the_default_store_under_m2mauth_home(
    run: Run, provider: LocalProvider, service_key_file: Path, tmp_path: Path
) -> None:
    assert run("token", "clms", "--service-key", str(service_key_file)).code == 0
    # M2MAUTH_HOME itself, or its cache folder (where the access-token cache moves with platformdirs).
    assert list((tmp_path / "default-home").glob("**/tokens/*.json"))


def test_status_lists_stored_tokens_without_showing_them_and_logout_forgets(
    run: Run, provider: LocalProvider, service_key_file: Path, tmp_path: Path
) -> None:
    store = str(tmp_path / "store")
    empty = run("status", "--store", store)
    assert empty.code == 0 and "no stored tokens" in empty.out
    token = run("token", "clms", "--service-key", str(service_key_file), "--store", store).out.strip()

    listing = run("status", "--store", store)
    assert listing.code == 0
    line = next(row for row in listing.out.splitlines() if row.strip().startswith("clms"))
    assert "service_key" in line and "valid" in line and line.rstrip().endswith("no")
    assert token not in listing.both

    as_json = json.loads(run("status", "clms", "--service-key", str(service_key_file), "--store", store, "--json").out)
    (entry,) = as_json["tokens"]
    assert entry["profile"] == "clms" and entry["refresh_token"] is False and 0 < entry["expires_in"] <= 600
    assert token not in json.dumps(as_json)
    assert json.loads(run("status", "openaire", "--store", store, "--json").out)["tokens"] == []

    gone = run("logout", "clms", "--service-key", str(service_key_file), "--store", store)
    assert gone.code == 0 and "forgot" in gone.out
    assert "no stored tokens" in run("status", "--store", store).out
    again = run("logout", "clms", "--service-key", str(service_key_file), "--store", store)
    assert again.code == 0 and "no stored token" in again.out


@pytest.mark.parametrize("quiet", [False, True])
def test_device_login_polling_is_one_log_line_off_a_terminal(
    run: Run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, quiet: bool
) -> None:
    """stderr is not a terminal here (captured): the countdown is one INFO line, not '\\r' rewrites."""
    with LocalProvider(token_lifetime=600, device_interval=1) as provider:

        def approve(authorization: Any) -> None:
            original(authorization)
            provider.approve_device(authorization.user_code)

        original = cli.login._show_device_prompt
        monkeypatch.setattr(cli.login, "_show_device_prompt", approve)
        options = ["--client-id", "cdse-public", "--issuer", provider.issuer_url(), "--store", str(tmp_path / "s")]
        login = run("login", "cdse-openeo", *options, "--timeout", "10", *(["--quiet"] if quiet else []))
        assert login.code == 0, login.err
        assert "\r" not in login.err and "Authorized successfully." in login.err
        waiting = [line for line in login.err.splitlines() if line.startswith("Waiting for approval...")]
        assert len(waiting) == (0 if quiet else 1), login.err


def test_device_login_then_status_token_and_logout(run: Run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with LocalProvider(token_lifetime=600, device_interval=1) as provider:
        shown: list[str] = []

        def approve(authorization: Any) -> None:  # the user reads the code and approves it in a browser
            original(authorization)
            shown.append(authorization.user_code)
            provider.approve_device(authorization.user_code)

        original = cli.login._show_device_prompt
        monkeypatch.setattr(cli.login, "_show_device_prompt", approve)
        options = ["--client-id", "cdse-public", "--issuer", provider.issuer_url(), "--store", str(tmp_path / "s")]
        login = run("login", "cdse-openeo", *options, "--timeout", "10")
        assert login.code == 0, login.err
        assert "logged in to cdse-openeo" in login.out and "refresh token stored" in login.out
        assert f"enter the code {shown[0]}" in login.err and "Authorized successfully." in login.err

        status = json.loads(run("status", "cdse-openeo", *options, "--json").out)
        (entry,) = status["tokens"]
        assert entry["profile"] == "cdse-openeo" and entry["flow"] == "device login" and entry["refresh_token"] is True
        table = run("status", "--store", str(tmp_path / "s")).out
        assert "cdse-openeo" in table and "yes" in table

        token = run("token", "cdse-openeo", *options)
        assert token.code == 0 and resource_ok(provider, token.out.strip())
        assert token.out.strip() not in login.both + table

        assert "forgot" in run("logout", "cdse-openeo", *options).out
        assert json.loads(run("status", "cdse-openeo", *options, "--json").out)["tokens"] == []
        after = run("token", "cdse-openeo", *options)
        assert after.code == cli.EXIT_CONFIG and "error [login_required]" in after.err


# -- secrets: option, stdin, environment ----------------------------------------------------------


@pytest.mark.parametrize("how", ["option", "stdin", "environment"])
def test_a_client_secret_is_never_echoed(
    run: Run, provider: LocalProvider, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    provider.add_client("generic", "canary-client", client_secret=CANARY)
    base = ["--client-id", "canary-client", "--token-url", provider.token_url("generic"), "--timeout", "10"]
    stdin = ""
    if how == "option":
        base += ["--client-secret", CANARY]
    elif how == "stdin":
        base += ["--client-secret", "-"]
        stdin = CANARY + "\n"
    else:
        monkeypatch.setenv("M2MAUTH_CLIENT_SECRET", CANARY)
    for argv in (
        ["token", "generic", *base, "--no-store"],
        ["token", "generic", *base, "--no-store", "--json", "--show-secrets"],
        ["doctor", "generic", *base],
        ["doctor", "generic", *base, "--json"],
        ["status", "generic", *base],
        ["logout", "generic", *base],
    ):
        result = run(*argv, stdin=stdin)
        assert result.code == 0, (argv, result.err)
        assert CANARY not in result.both, argv
    warned = run("token", "generic", *base, "--no-store", stdin=stdin).err
    assert ("visible to other users" in warned) == (how == "option")


def test_a_wrong_secret_from_stdin_is_not_echoed_on_failure(run: Run, provider: LocalProvider) -> None:
    provider.add_user("generic", "alice", "the-real-password")
    options = [
        "--username",
        "alice",
        "--password",
        "-",
        "--token-url",
        provider.token_url("generic"),
        "--timeout",
        "10",
    ]
    for command in (["token", "generic", "--no-store"], ["doctor", "generic"], ["doctor", "generic", "--json"]):
        result = run(*command, *options, stdin=CANARY + "\n")
        assert result.code == cli.EXIT_FAILED, result.both
        assert CANARY not in result.both and "invalid_grant" in result.both


def test_an_hmac_secret_from_the_provider_environment_is_not_echoed(
    run: Run, provider: LocalProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider.add_dt_service_account("cli-kid", CANARY, "svc@example.serviceaccount.d21s.com")
    monkeypatch.setenv("DT_SERVICE_ACCOUNT_KEY_ID", "cli-kid")
    monkeypatch.setenv("DT_SERVICE_ACCOUNT_SECRET", CANARY)
    monkeypatch.setenv("DT_SERVICE_ACCOUNT_EMAIL", "svc@example.serviceaccount.d21s.com")
    url = provider.token_url("disruptive-technologies")
    token = run("token", "disruptive-technologies", "--token-url", url, "--no-store", "--timeout", "10")
    assert token.code == 0 and resource_ok(provider, token.out.strip())
    doctor = run("doctor", "disruptive-technologies", "--token-url", url)
    assert doctor.code == 0, doctor.out
    assert "DT_SERVICE_ACCOUNT_SECRET" in doctor.out  # named, never shown
    assert CANARY not in token.both + doctor.both


def test_a_secret_read_from_stdin_works_and_only_one_option_may_read_it(run: Run, provider: LocalProvider) -> None:
    provider.add_user("generic", "bob", "bobs-password")
    url = provider.token_url("generic")
    ok = run("token", "generic", "--username", "bob", "--password", "-", "--token-url", url, "--no-store",
             stdin="bobs-password\r\n")  # fmt: skip
    assert ok.code == 0 and resource_ok(provider, ok.out.strip())
    empty = run("token", "generic", "--username", "bob", "--password", "-", "--token-url", url, stdin="")
    assert empty.code == cli.EXIT_USAGE and "empty" in empty.err


# -- inspect -------------------------------------------------------------------------------------


def test_inspect_names_the_seed_grant_problems(run: Run) -> None:
    grant = SEED_GRANT.read_text(encoding="utf-8").strip()
    result = run("inspect", grant, "--profile", "clms")
    assert result.code == cli.EXIT_FAILED
    for text in ("duplicate_alg_header", "hmac_instead_of_rsa", "fix:", '"alg.1": "RS256"', "exp: 2024-10-09"):
        assert text in result.out
    assert grant.rsplit(".", 1)[1] not in result.out  # the signature is not repeated

    as_json = json.loads(run("inspect", "-", "--profile", "clms", "--json", stdin=grant + "\n").out)
    codes = {f["code"] for f in as_json["findings"]}
    assert {"duplicate_alg_header", "hmac_instead_of_rsa"} <= codes and as_json["ok"] is False


def test_inspect_a_good_grant_and_garbage(run: Run, provider: LocalProvider) -> None:
    key = provider.make_clms_service_key()
    now = int(time.time())
    claims = {"iss": key["client_id"], "sub": key["user_id"], "aud": key["token_uri"], "iat": now, "exp": now + 3600}
    good = jwt.encode(claims, key["private_key"], algorithm="RS256")
    result = run("inspect", good, "--profile", "clms", "--token-url", key["token_uri"])
    assert result.code == 0 and "no problems found" in result.out
    garbage = run("inspect", "not-a-jwt")
    assert garbage.code == cli.EXIT_FAILED and "not_a_jwt" in garbage.out


def test_basic_encoding_option_on_token_and_doctor(run: Run, tmp_path: Path) -> None:
    """A server that does not form-decode Basic credentials (raw) refuses the RFC encoding of a secret with
    ':', '%', '+' and non-ASCII characters; --basic-encoding raw gets through, on token and doctor alike."""
    secret = "p:a%s+s é-" + CANARY
    with LocalProvider(token_lifetime=600, basic_encoding="raw") as provider:
        provider.add_client("generic", "raw-client", client_secret=secret)
        options = ["--client-id", "raw-client", "--client-secret", "-", "--token-url", provider.token_url("generic"),
                   "--auth-method", "client_secret_basic", "--timeout", "10"]  # fmt: skip
        refused = run("token", "generic", *options, "--no-store", stdin=secret + "\n")
        assert refused.code == cli.EXIT_FAILED and refused.out == ""
        raw = run("token", "generic", *options, "--no-store", "--basic-encoding", "raw", stdin=secret + "\n")
        assert raw.code == 0, raw.err
        assert resource_ok(provider, raw.out.strip())
        doctor = run("doctor", "generic", *options, "--basic-encoding", "raw", "--json", stdin=secret + "\n")
        assert doctor.code == 0, doctor.out
        assert CANARY not in refused.both + raw.err + doctor.both
    assert run("token", "generic", "--basic-encoding", "latin1").code == cli.EXIT_USAGE


def test_no_keep_refresh_token_leaves_rotation_to_the_user(run: Run, monkeypatch: pytest.MonkeyPatch,
                                                         tmp_path: Path) -> None:  # fmt: skip
    with LocalProvider(token_lifetime=600) as provider:  # strict rotation: a spent refresh token is refused
        url = provider.token_url("openaire", "personal_refresh")

        def twice(home: str, *extra: str) -> tuple[Result, Result]:
            monkeypatch.setenv("M2MAUTH_HOME", str(tmp_path / home))
            original = provider.issue_refresh_token("openaire")
            argv = ["token", "openaire", "--refresh-token", "-", "--token-url", url, "--no-store", *extra]
            return run(*argv, stdin=original + "\n"), run(*argv, stdin=original + "\n")

        first, second = twice("kept")  # the default: the newest token of the chain is kept for the next run
        assert first.code == 0 and second.code == 0, second.err
        first, second = twice("not-kept", "--no-keep-refresh-token")
        assert first.code == 0, first.err
        assert second.code == cli.EXIT_FAILED and "invalid_grant" in second.err + second.out


@pytest.mark.parametrize("line_end", ["\n", "\r\n", ""])
def test_a_secret_from_stdin_loses_its_line_break_and_stray_whitespace_is_warned(
    run: Run, provider: LocalProvider, line_end: str
) -> None:
    secret = "stdin-secret-" + CANARY
    provider.add_client("generic", "stdin-client", client_secret=secret)
    options = ["token", "generic", "--client-id", "stdin-client", "--client-secret", "-", "--token-url",
               provider.token_url("generic"), "--no-store", "--timeout", "10"]  # fmt: skip
    clean = run(*options, stdin=secret + line_end)
    assert clean.code == 0, clean.err
    assert clean.err == ""  # nothing to warn about: the line break is not part of the secret
    padded = run(*options, stdin=f" {secret} " + line_end)
    assert padded.code == cli.EXIT_FAILED  # sent as given (whitespace may be deliberate), so refused here
    assert "warning: client_secret (from stdin) starts and ends with whitespace" in padded.err
    assert CANARY not in padded.both


# -- keygen --------------------------------------------------------------------------------------


def test_keygen_writes_private_files_0600_and_the_openaire_public_jwk(
    run: Run, provider: LocalProvider, tmp_path: Path
) -> None:
    out = tmp_path / "keys"
    result = run("keygen", "--kid", "svc-key-1", "--out", str(out))
    assert result.code == 0, result.err
    public = json.loads(result.out)
    assert list(public) == ["kty", "e", "kid", "alg", "n"]
    assert public["kty"] == "RSA" and public["alg"] == "RS256" and public["kid"] == "svc-key-1"
    private_pem = out / "svc-key-1.private.pem"
    keystore_file = out / "svc-key-1.keystore.jwk.json"
    public_file = out / "svc-key-1.public.jwk.json"
    for path in (private_pem, keystore_file):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert json.loads(public_file.read_text()) == public
    keystore = json.loads(keystore_file.read_text())
    assert list(keystore) == ["p", "kty", "q", "d", "e", "kid", "qi", "dp", "alg", "dq", "n"]
    assert keystore["n"] == public["n"] and keystore["e"] == public["e"] and keystore["alg"] == "RS256"
    assert "PRIVATE KEY" not in result.both and keystore["d"] not in result.both
    assert str(private_pem) in result.err

    # The public JWK verifies what the private key (PEM and keystore JWK alike) signs; checked with PyJWT.
    private = serialization.load_pem_private_key(private_pem.read_bytes(), password=None)
    assert private.key_size == 2048  # type: ignore[union-attr]
    verifier = jwt.PyJWK(public).key
    for signer in (private, jwt.PyJWK(keystore).key):
        token = jwt.encode({"sub": "x"}, signer, algorithm="RS256", headers={"kid": "svc-key-1"})
        assert jwt.decode(token, verifier, algorithms=["RS256"]) == {"sub": "x"}

    # Registered with (the local) OpenAIRE, the pair gets a token through private_key_jwt.
    provider.add_client("openaire", "svc-advanced", public_jwk=public)
    token = run(
        "token", "openaire", "--client-id", "svc-advanced", "--private-key", str(private_pem),
        "--key-id", "svc-key-1", "--token-url", provider.token_url("openaire"), "--no-store", "--timeout", "10",
    )  # fmt: skip
    assert token.code == 0, token.err
    assert resource_ok(provider, token.out.strip())

    again = run("keygen", "--kid", "svc-key-1", "--out", str(out))
    assert again.code == cli.EXIT_CONFIG and "error [file_exists]" in again.err
    private_pem.chmod(0o644)
    forced = run("keygen", "--kid", "svc-key-1", "--out", str(out), "--force", "--bits", "3072")
    assert forced.code == 0 and json.loads(forced.out)["n"] != public["n"]
    assert stat.S_IMODE(private_pem.stat().st_mode) == 0o600


def test_keygen_redirected_to_a_file_as_help_shows(tmp_path: Path) -> None:
    """`m2mauth keygen --kid X > X.public.jwk.json` (the --help example): the shell creates that file before
    keygen runs, so keygen must not write it too (it failed with file_exists and left the file empty)."""
    env = checkout_environment()
    target = tmp_path / "my-service.public.jwk.json"
    with target.open("wb") as stdout:  # what `> my-service.public.jwk.json` does
        done = subprocess.run(
            [sys.executable, "-m", "m2mauth", "keygen", "--kid", "my-service"],
            cwd=tmp_path, env=env, stdout=stdout, stderr=subprocess.PIPE, timeout=120, check=False,
        )  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()
    public = json.loads(target.read_text())
    assert list(public) == ["kty", "e", "kid", "alg", "n"] and public["kid"] == "my-service"
    private_pem = tmp_path / "my-service.private.pem"
    assert stat.S_IMODE(private_pem.stat().st_mode) == 0o600
    private = serialization.load_pem_private_key(private_pem.read_bytes(), password=None)
    assert jwt.decode(
        jwt.encode({"sub": "x"}, private, algorithm="RS256"), jwt.PyJWK(public).key, algorithms=["RS256"]
    ) == {"sub": "x"}
    assert b"stdout only" in done.stderr and b"PRIVATE KEY" not in done.stderr


def test_token_warns_before_sending_a_client_assertion_without_kid(
    run: Run, provider: LocalProvider, tmp_path: Path
) -> None:
    keys = run("keygen", "--kid", "svc-key-2", "--out", str(tmp_path))
    provider.add_client("openaire", "svc-nokid", public_jwk=json.loads(keys.out))
    options = ["--client-id", "svc-nokid", "--private-key", str(tmp_path / "svc-key-2.private.pem"),
               "--token-url", provider.token_url("openaire"), "--no-store", "--timeout", "10"]  # fmt: skip
    refused = run("token", "openaire", *options)
    assert refused.code == cli.EXIT_FAILED and refused.out == ""
    warning = refused.err.index("warning: the private key has no key id")
    assert warning < refused.err.index("error [") and "--key-id" in refused.err
    accepted = run("token", "openaire", *options, "--key-id", "svc-key-2")
    assert accepted.code == 0 and "no key id" not in accepted.err
    keystore = run("token", "openaire", *options[:2], "--private-key", str(tmp_path / "svc-key-2.keystore.jwk.json"),
                   *options[4:])  # fmt: skip
    assert keystore.code == 0 and "no key id" not in keystore.err  # a JWK carries its kid


# -- profiles and vectors ------------------------------------------------------------------------


def test_profiles_list_and_show(run: Run) -> None:
    listing = run("profiles")
    assert listing.code == 0
    for name in list_profiles():
        assert name in listing.out
    assert {p["name"] for p in json.loads(run("profiles", "--json").out)} == set(list_profiles())
    assert {p["name"] for p in json.loads(run("profiles", "list", "--json").out)} == set(list_profiles())

    clms = run("profiles", "show", "clms")
    assert clms.code == 0
    for text in ("https://land.copernicus.eu/@@oauth2-token", "service_key (jwt_bearer)", "needs: service_key",
                 "RS256", "m2mauth token clms --service-key FILE"):  # fmt: skip
        assert text in clms.out
    dt = run("profiles", "show", "disruptive-technologies").out
    assert "DT_SERVICE_ACCOUNT_SECRET" in dt and "assertion_timing" in dt
    openaire = json.loads(run("profiles", "show", "openaire", "--json").out)
    assert [f["name"] for f in openaire["flows"]] == ["personal_refresh", "service_advanced", "service_basic"]
    assert openaire["environment"]["client_id"] == ["M2MAUTH_CLIENT_ID"]


def test_vectors_verify_replays_the_shipped_vectors(run: Run) -> None:
    result = run("vectors", "verify")
    assert result.code == 0, result.out
    assert " 0 failed" in result.out and "spec/verify/verify_vectors.py" in result.out
    assert "published/rfc7515-a1-hs256.json" in result.out


def test_vectors_verify_fails_on_a_tampered_vector(run: Run, tmp_path: Path) -> None:
    data = json.loads((ROOT / "spec" / "vectors" / "clms-jwt-bearer.json").read_text(encoding="utf-8"))
    test = data["testGroups"][0]["tests"][0]
    test["expected"]["tokenRequest"]["headers"].reverse()
    tampered = tmp_path / "clms-jwt-bearer.json"
    tampered.write_text(json.dumps(data), encoding="utf-8")
    result = run("vectors", "verify", str(tampered))
    assert result.code == cli.EXIT_FAILED
    assert "FAIL" in result.out and "tcId 1: tokenRequest: the headers differ" in result.out
    missing = run("vectors", "verify", str(tmp_path / "nothing-here"))
    assert missing.code == cli.EXIT_CONFIG
