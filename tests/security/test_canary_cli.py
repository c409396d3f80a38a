"""Secrets never leak (issue 5, part 4): every command of the command line.

The canary run is described in canary_values.py; the world and watch fixtures are in conftest.py.
"""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from canary_credentials import CLOSED, dt_env, generic_secret, no_env, one_line_key_body
from canary_values import key_needles
from canary_watch import Watch, check_store
from canary_world import World, auto_approve, issued_by
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

import m2mauth
from m2mauth import cli

ROOT = Path(__file__).resolve().parents[2]


# -- the command line ------------------------------------------------------------------------------


@dataclass
class Result:
    code: int
    out: str
    err: str


def cli_run(watch: Watch, monkeypatch: pytest.MonkeyPatch, argv: list[str], *, stdin: str = "",
            env: dict[str, str] | None = None, check_stdout: bool = True) -> Result:
    """Run ``m2mauth ARGV`` in-process; its stderr (and stdout, unless the caller checks it itself) join the
    texts the watch checks. No traceback may reach the user."""
    watch.capture.readouterr()
    with monkeypatch.context() as patch:
        for name, value in (env or {}).items():
            patch.setenv(name, value)
        patch.setattr(sys, "stdin", io.StringIO(stdin))
        code = cli.main(argv)
    out, err = watch.capture.readouterr()
    where = "m2mauth " + " ".join(argv[:2])
    if check_stdout:
        watch.text(f"{where}: stdout", out)
    watch.text(f"{where}: stderr", err)
    assert "Traceback" not in err
    return Result(code, out, err)


def all_secret_env(w: World) -> dict[str, str]:
    """Every secret environment variable the CLI or the core may read, set to a canary."""
    c = w.c
    return {
        "M2MAUTH_CLIENT_SECRET": c.client_secret,
        "M2MAUTH_SECRET": c.hmac_secret,
        "M2MAUTH_PASSWORD": c.password,
        "M2MAUTH_REFRESH_TOKEN": c.refresh_token,
        "M2MAUTH_KEY_PASSWORD": c.key_passphrase,
        "DT_SERVICE_ACCOUNT_SECRET": c.hmac_secret,
        "OPENEO_AUTH_CLIENT_SECRET": c.client_secret,
    }


def issued_access_tokens(w: World) -> set[str]:
    state = w.provider._state
    with state.lock:
        return set(state._tokens)


@dataclass(frozen=True)
class Command:
    id: str
    argv: Callable[[World], list[str]]
    stdin: Callable[[World], str] = lambda w: ""
    env: Callable[[World], dict[str, str]] = no_env
    shape: str = "plain"  # plain | header | json | json-secrets


def gen_args(w: World) -> list[str]:
    return ["--token-url", w.url("generic"), "--client-id", "gen-secret"]


TOKEN_COMMANDS = [
    Command("generic-secret-stdin", lambda w: ["token", "generic", *gen_args(w), "--client-secret", "-"],
            lambda w: w.c.client_secret + "\n"),
    Command("generic-secret-option", lambda w: ["token", "generic", *gen_args(w), "--client-secret",
                                                w.c.client_secret, "--header"], shape="header"),
    Command("generic-secret-equals", lambda w: ["token", "generic", *gen_args(w),
                                                f"--client-secret={w.c.client_secret}", "--json"], shape="json"),
    Command("generic-secret-environment", lambda w: ["token", "generic", *gen_args(w), "--no-store"],
            env=lambda w: {"M2MAUTH_CLIENT_SECRET": w.c.client_secret}),
    Command("generic-password-show-secrets",
            lambda w: ["token", "generic", "--token-url", w.url("generic"), "--username", "gen-user", "--password",
                       "-", "--json", "--show-secrets"], lambda w: w.c.password + "\n", shape="json-secrets"),
    Command("generic-private-key-file", lambda w: ["token", "generic", "--token-url", w.url("generic"),
                                                   "--client-id", "gen-key", "--private-key", str(w.plain_key_file),
                                                   "--key-id", "gen-kid"]),
    Command("clms-service-key", lambda w: ["token", "clms", "--service-key", str(w.service_key_file)]),
    Command("dt-environment", lambda w: ["token", "disruptive-technologies", "--token-url",
                                         w.url("disruptive-technologies")], env=dt_env),
    Command("openaire-personal-stdin", lambda w: ["token", "openaire", "--token-url",
                                                  w.url("openaire", "personal_refresh"), "--refresh-token", "-"],
            lambda w: w.refresh("openaire") + "\n"),
    Command("openaire-personal-environment", lambda w: ["token", "openaire", "--token-url",
                                                        w.url("openaire", "personal_refresh"), "--json"],
            env=lambda w: {"M2MAUTH_REFRESH_TOKEN": w.refresh("openaire")}, shape="json"),
    Command("openaire-basic", lambda w: ["token", "openaire", "--token-url", w.url("openaire"), "--client-id",
                                         "oa-basic", "--client-secret", "-"], lambda w: w.c.client_secret + "\n"),
    Command("openaire-advanced-encrypted-key",
            lambda w: ["token", "openaire", "--token-url", w.url("openaire"), "--client-id", "oa-advanced",
                       "--private-key", str(w.key_file), "--key-id", "oa-kid", "--key-password", "-"],
            lambda w: w.c.key_passphrase + "\n"),
    Command("climate-engine-password-option",
            lambda w: ["token", "climate-engine", "--token-url", w.url("climate-engine"), "--username",
                       "ce-user@example.org", "--password", w.c.password]),
    Command("climate-engine-client-secret-jwt",
            lambda w: ["token", "climate-engine", "--token-url", w.url("climate-engine"), "--client-id", "ce-client",
                       "--client-secret", "-", "--auth-method", "client_secret_jwt"],
            lambda w: w.c.client_secret + "\n"),
    Command("cdse-environment", lambda w: ["token", "cdse-openeo", "--token-url", w.url("cdse-openeo")],
            env=lambda w: {"OPENEO_AUTH_CLIENT_ID": "cdse-svc", "OPENEO_AUTH_CLIENT_SECRET": w.c.client_secret}),
    Command("cdse-refresh", lambda w: ["token", "cdse-openeo", "--token-url", w.url("cdse-openeo"), "--client-id",
                                       "cdse-public", "--refresh-token", "-"], lambda w: w.refresh("cdse") + "\n"),
]


@pytest.mark.parametrize("command", TOKEN_COMMANDS, ids=[c.id for c in TOKEN_COMMANDS])
def test_cli_token_prints_only_the_token_asked_for(
    command: Command, world: World, cli_watch: Watch, monkeypatch: pytest.MonkeyPatch, clean_env: Path
) -> None:
    before = issued_access_tokens(world)
    argv = command.argv(world)
    result = cli_run(cli_watch, monkeypatch, argv, stdin=command.stdin(world), env=command.env(world),
                     check_stdout=False)
    assert result.code == cli.EXIT_OK, result.err
    new = issued_access_tokens(world) - before
    printed = result.out.strip()
    asked_for: list[str] = []
    if command.shape == "plain":
        assert printed in new
        asked_for = [printed]
    elif command.shape == "header":
        assert printed.startswith("Authorization: Bearer ")
        asked_for = [printed.removeprefix("Authorization: Bearer ")]
        assert asked_for[0] in new
    else:
        record = json.loads(printed)
        if command.shape == "json":
            assert record["access_token"] == "<redacted>"
            assert record["refresh_token"] in (None, "<redacted>")
        else:
            assert record["access_token"] in new
            assert record["refresh_token"] in issued_by(world.provider)
            asked_for = [record["access_token"], record["refresh_token"]]
    # Only the token(s) asked for may be in stdout; any other issued token or canary is a leak.
    cli_watch.text("m2mauth token: stdout", result.out, allowed=asked_for)
    if "--no-store" not in argv:
        assert check_store(clean_env, cli_watch) >= 1
    cli_watch.check()


CLI_FAILURES = [
    Command("wrong-secret", lambda w: ["token", "generic", *gen_args(w), "--client-secret", "-"],
            lambda w: w.c.wrong_secret + "\n", shape="1"),
    Command("wrong-dt-secret", lambda w: ["token", "disruptive-technologies", "--token-url",
                                          w.url("disruptive-technologies")],
            env=lambda w: {**dt_env(w), "DT_SERVICE_ACCOUNT_SECRET": w.c.wrong_secret}, shape="1"),
    Command("wrong-passphrase", lambda w: ["token", "openaire", "--token-url", w.url("openaire"), "--client-id",
                                           "oa-advanced", "--private-key", str(w.key_file), "--key-id", "oa-kid",
                                           "--key-password", w.c.wrong_secret], shape="3"),
    Command("refused-refresh-token", lambda w: ["token", "openaire", "--token-url",
                                                w.url("openaire", "personal_refresh"), "--refresh-token", "-"],
            lambda w: w.c.refresh_token + "\n", shape="1"),
    Command("insecure-url", lambda w: ["token", "generic", "--token-url", "http://auth.example.org/token",
                                       "--client-id", "c", "--client-secret", w.c.client_secret], shape="3"),
    Command("connection-refused", lambda w: ["token", "openaire", "--token-url",
                                             CLOSED.format(port=w.closed_port),
                                             "--timeout", "1", "--no-store"],
            env=lambda w: {"M2MAUTH_REFRESH_TOKEN": w.c.refresh_token}, shape="4"),
    Command("missing-client-id", lambda w: ["token", "generic", "--token-url", w.url("generic"),
                                            "--client-secret", w.c.client_secret], shape="3"),
    Command("key-body-as-path", lambda w: ["token", "generic", "--token-url", w.url("generic"), "--client-id",
                                           "gen-key", "--private-key", one_line_key_body(w.c.pem)], shape="3"),
    Command("login-without-client-id", lambda w: ["login", "cdse-openeo", "--issuer", w.provider.issuer_url(),
                                                  "--client-secret", "-"], lambda w: w.c.client_secret, shape="3"),
    Command("doctor-wrong-hmac-secret", lambda w: ["doctor", "disruptive-technologies", "--token-url",
                                                   w.url("disruptive-technologies"), "--secret", "-"],
            lambda w: w.c.wrong_secret, env=lambda w: {k: v for k, v in dt_env(w).items() if "SECRET" not in k},
            shape="1"),
    Command("doctor-wrong-client-secret-json", lambda w: ["doctor", "generic", *gen_args(w), "--client-secret", "-",
                                                          "--json"], lambda w: w.c.wrong_secret, shape="1"),
    Command("doctor-wrong-password", lambda w: ["doctor", "climate-engine", "--token-url", w.url("climate-engine"),
                                                "--username", "ce-user@example.org", "--password", "-"],
            lambda w: w.c.wrong_secret, shape="1"),
    Command("doctor-wrong-passphrase", lambda w: ["doctor", "openaire", "--token-url", w.url("openaire"),
                                                  "--client-id", "oa-advanced", "--private-key", str(w.key_file),
                                                  "--key-id", "oa-kid", "--key-password", "-"],
            lambda w: w.c.wrong_secret, shape="1"),
    Command("doctor-key-body-as-path", lambda w: ["doctor", "generic", "--token-url", w.url("generic"),
                                                  "--client-id", "gen-key", "--private-key",
                                                  one_line_key_body(w.c.pem)], shape="1"),
    Command("doctor-ok-dt-environment", lambda w: ["doctor", "disruptive-technologies", "--token-url",
                                                   w.url("disruptive-technologies")], env=dt_env, shape="0"),
    Command("doctor-ok-clms", lambda w: ["doctor", "clms", "--service-key", str(w.service_key_file)], shape="0"),
    Command("doctor-ok-openaire-advanced", lambda w: ["doctor", "openaire", "--token-url", w.url("openaire"),
                                                      "--client-id", "oa-advanced", "--private-key", str(w.key_file),
                                                      "--key-id", "oa-kid", "--key-password", "-", "--json"],
            lambda w: w.c.key_passphrase, shape="0"),
    Command("doctor-ok-openaire-personal", lambda w: ["doctor", "openaire", "--token-url",
                                                      w.url("openaire", "personal_refresh"), "--refresh-token", "-"],
            lambda w: w.c.refresh_token, shape="0"),
    Command("doctor-ok-generic-all-env", lambda w: ["doctor", "generic", *gen_args(w)], env=all_secret_env,
            shape="0"),
    Command("doctor-ok-climate-engine-jwt", lambda w: ["doctor", "climate-engine", "--token-url",
                                                       w.url("climate-engine"), "--client-id", "ce-client",
                                                       "--client-secret", w.c.client_secret, "--auth-method",
                                                       "client_secret_jwt"], shape="0"),
    Command("status-all-env", lambda w: ["status"], env=all_secret_env, shape="0"),
    Command("status-profile", lambda w: ["status", "generic", *gen_args(w), "--client-secret", "-", "--json"],
            lambda w: w.c.client_secret, shape="0"),
    Command("logout-profile", lambda w: ["logout", "generic", *gen_args(w), "--client-secret", w.c.client_secret],
            shape="0"),
    Command("profiles-all-env", lambda w: ["profiles"], env=all_secret_env, shape="0"),
    Command("profiles-show-all-env", lambda w: ["profiles", "show", "disruptive-technologies", "--json"],
            env=all_secret_env, shape="0"),
    Command("vectors-all-env", lambda w: ["vectors", "verify"], env=all_secret_env, shape="0"),
]


@pytest.mark.parametrize("command", CLI_FAILURES, ids=[c.id for c in CLI_FAILURES])
def test_cli_commands_and_failures_print_no_secret(
    command: Command, world: World, cli_watch: Watch, monkeypatch: pytest.MonkeyPatch, clean_env: Path
) -> None:
    result = cli_run(cli_watch, monkeypatch, command.argv(world), stdin=command.stdin(world), env=command.env(world))
    assert result.code == int(command.shape), result.out + result.err
    if result.code not in (0,) and command.argv(world)[0] == "token":
        assert result.err.startswith("error [") or "\nerror [" in result.err
    if clean_env.exists():
        check_store(clean_env, cli_watch)
    cli_watch.check()


def test_cli_doctor_with_a_grant_on_stdin(world: World, cli_watch: Watch, monkeypatch: pytest.MonkeyPatch,
                                          clean_env: Path) -> None:
    plan = m2mauth.build_request("clms", service_key=str(world.service_key_file))
    assert plan.assertion is not None
    grant = plan.assertion.jwt
    cli_watch.forbid("the grant's signature", [grant.rsplit(".", 1)[1]])
    result = cli_run(cli_watch, monkeypatch, ["doctor", "clms", "--service-key", str(world.service_key_file), "--jwt",
                                              "-", "--send"], stdin=grant)
    assert result.code == cli.EXIT_OK, result.out + result.err
    assert "issued" in result.out
    cli_watch.check()


def test_cli_inspect_prints_no_secret(world: World, cli_watch: Watch, monkeypatch: pytest.MonkeyPatch,
                                      clean_env: Path) -> None:
    plan = m2mauth.build_request("generic", auth_method="client_secret_jwt", **generic_secret(world))
    assertion = plan.request.field("client_assertion")
    assert assertion
    cli_watch.forbid("the client assertion's signature", [assertion.rsplit(".", 1)[1]])
    for argv, stdin in ([["inspect", "-", "--profile", "generic"], assertion],
                        [["inspect", assertion, "--profile", "generic", "--json", "--token-url",
                          world.url("generic")], ""]):
        result = cli_run(cli_watch, monkeypatch, argv, stdin=stdin, env=all_secret_env(world))
        assert result.code in (cli.EXIT_OK, cli.EXIT_FAILED), result.err
    cli_watch.check()


def test_cli_login_status_logout_print_no_secret(world: World, cli_watch: Watch, monkeypatch: pytest.MonkeyPatch,
                                                 tmp_path: Path, clean_env: Path) -> None:
    store = tmp_path / "cli-store"
    creds = ["--issuer", world.provider.issuer_url(), "--client-id", "cdse-svc", "--client-secret", "-",
             "--store", str(store)]
    with auto_approve(world):
        result = cli_run(cli_watch, monkeypatch, ["login", "cdse-openeo", *creds], stdin=world.c.client_secret)
    assert result.code == cli.EXIT_OK, result.err
    assert "refresh token stored" in result.out
    again = cli_run(cli_watch, monkeypatch, ["login", "cdse-openeo", *creds], stdin=world.c.client_secret)
    assert again.code == cli.EXIT_OK and "Authenticated using refresh token." in again.err
    for argv in (["status", "--store", str(store)], ["status", "cdse-openeo", *creds, "--json"]):
        shown = cli_run(cli_watch, monkeypatch, argv, stdin=world.c.client_secret, env=all_secret_env(world))
        assert shown.code == cli.EXIT_OK and "cdse-openeo" in shown.out
    assert check_store(store, cli_watch) == 1
    gone = cli_run(cli_watch, monkeypatch, ["logout", "cdse-openeo", *creds], stdin=world.c.client_secret)
    assert gone.code == cli.EXIT_OK and "forgot" in gone.out
    assert check_store(store, cli_watch) == 0
    cli_watch.check()


def test_cli_keygen_prints_no_private_key(world: World, cli_watch: Watch, monkeypatch: pytest.MonkeyPatch,
                                         tmp_path: Path, clean_env: Path) -> None:
    out = tmp_path / "keys"
    result = cli_run(cli_watch, monkeypatch, ["keygen", "--kid", "canary-kid", "--out", str(out)],
                     env=all_secret_env(world))
    assert result.code == cli.EXIT_OK, result.err
    private = serialization.load_pem_private_key((out / "canary-kid.private.pem").read_bytes(), None)
    assert isinstance(private, rsa.RSAPrivateKey)
    cli_watch.forbid("keygen's private key", key_needles(private))
    for name in ("canary-kid.private.pem", "canary-kid.keystore.jwk.json"):
        assert stat.S_IMODE((out / name).stat().st_mode) == 0o600
    public = json.loads((out / "canary-kid.public.jwk.json").read_text())
    assert list(public) == ["kty", "e", "kid", "alg", "n"]
    cli_watch.text("public JWK file", json.dumps(public))
    cli_watch.check()


USAGE_ERRORS = [
    ["token", "generic", "--client-id", "c", "--clientsecret", "{secret}"],
    ["token", "generic", "--client-id", "c", "--client-secret={secret}", "--timeout", "soon"],
    ["token", "generic", "--client-secret", "{secret}", "--no-such-option"],
    ["token", "generic", "--password", "{secret}", "--json", "--header"],
    ["token", "generic", "--password", "{secret}", "--show-secrets"],
    ["inspect", "--profile", "generic", "--client-secret", "{secret}"],
    ["keygen", "--kid", "k", "--secret", "{secret}"],
    ["doctor", "generic", "--client-secret", "{secret}", "--json-body"],
    ["status", "generic", "--key-password", "{secret}", "--password"],
    ["profiles", "show", "--refresh-token", "{secret}"],
    ["login", "cdse-openeo", "--client-id", "c", "--client_secret", "{secret}"],
    ["nosuchcommand", "--client-secret", "{secret}"],
]


@pytest.mark.parametrize("template", USAGE_ERRORS, ids=[f"{t[0]}-{i}" for i, t in enumerate(USAGE_ERRORS)])
def test_cli_usage_errors_do_not_echo_secrets(template: list[str], world: World, cli_watch: Watch,
                                              monkeypatch: pytest.MonkeyPatch, clean_env: Path) -> None:
    argv = [part.replace("{secret}", world.c.client_secret) for part in template]
    result = cli_run(cli_watch, monkeypatch, argv)
    assert result.code == cli.EXIT_USAGE, result.out + result.err
    assert "error [usage]" in result.err
    cli_watch.check()


def test_cli_in_a_subprocess_prints_only_the_token(world: World, watch: Watch, tmp_path: Path,
                                                   clean_env: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "M2MAUTH_DEBUG"}
    env.update(all_secret_env(world))
    for name in ("M2MAUTH_CLIENT_SECRET", "M2MAUTH_REFRESH_TOKEN", "M2MAUTH_PASSWORD"):  # they would choose the flow
        del env[name]
    env["M2MAUTH_HOME"] = str(tmp_path / "home")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "python"), os.environ.get("PYTHONPATH")]))
    base = [sys.executable, "-m", "m2mauth", "token", "generic", *gen_args(world), "--client-secret", "-"]
    before = issued_access_tokens(world)
    good = subprocess.run(base, input=world.c.client_secret + "\n", capture_output=True, text=True, env=env,
                          timeout=120, check=False)
    assert good.returncode == 0, good.stderr
    assert good.stdout.strip() in issued_access_tokens(world) - before
    watch.text("subprocess stdout", good.stdout, allowed=[good.stdout.strip()])
    watch.text("subprocess stderr", good.stderr)
    bad = subprocess.run([*base, "--no-store"], input=world.c.wrong_secret + "\n", capture_output=True, text=True,
                         env=env, timeout=120, check=False)
    assert bad.returncode == cli.EXIT_FAILED
    assert bad.stdout == "" and "error [invalid_client]" in bad.stderr and "Traceback" not in bad.stderr
    watch.text("subprocess stderr (refused)", bad.stderr)
    check_store(tmp_path / "home", watch)
    watch.check()
