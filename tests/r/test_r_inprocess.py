"""The R side of the R package, driven in-process through rpy2, without ever starting Python in R.

Every test ends by checking that reticulate has not started Python: with reticulate 1.28 an R
embedded here that calls back into Python crashes at the next garbage collection.
"""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, quote_plus

import pytest

import m2mauth

from .conftest import R_TESTS, SEED_GRANT, SPEC, SUBPROCESS_TIMEOUT, r_env


def python_started(r: Any) -> bool:
    return bool(r("reticulate::py_available(initialize = FALSE)")[0])


def text(r: Any, code: str) -> str:
    return "\n".join(str(line) for line in r(f"capture.output({code})"))


def r_string(value: str) -> str:
    return json.dumps(value)


@pytest.fixture(autouse=True)
def python_stays_unstarted(request: pytest.FixtureRequest, r: Any) -> Iterator[None]:
    yield
    if request.node.get_closest_marker("python_in_r") is None:
        assert not python_started(r), "R started Python inside the rpy2 process"


def test_library_loads_without_starting_python(r: Any) -> None:
    assert "m2mauth" in list(r("loadedNamespaces()"))
    assert not python_started(r)
    exports = set(r('getNamespaceExports("m2mauth")'))
    assert {"m2m_token", "m2m_fetch_token", "req_auth_m2m", "m2m_inspect", "m2m_explain", "m2m_sign_jwt"} <= exports


def public_functions() -> list[str]:
    names = []
    for name in m2mauth.__all__:
        if name.startswith("__"):
            continue
        try:
            value = getattr(m2mauth, name)
        except ImportError:  # an optional extra (e.g. httpx) is missing: classes only
            continue
        if inspect.isfunction(value):
            names.append(name)
    return names


def test_every_public_function_has_a_wrapper_with_the_same_argument_names(r: Any) -> None:
    """rpy2 sees the same (dot-free, snake_case) argument names as Python."""
    functions = public_functions()
    assert {"fetch_token", "inspect", "explain", "sign_jwt"} <= set(functions)
    exports = set(r('getNamespaceExports("m2mauth")'))
    for name in functions:
        assert f"m2m_{name}" in exports, name
        python_args = [
            p.name
            for p in inspect.signature(getattr(m2mauth, name)).parameters.values()
            if p.kind is not inspect.Parameter.VAR_KEYWORD
        ]
        formals = r(f"names(formals(m2mauth::m2m_{name}))")
        r_args = [a for a in (list(formals) if formals is not r("NULL") else []) if a != "..."]
        assert r_args == python_args, name
    if "login" in functions:
        assert "m2m_login" in exports


def test_the_spec_vectors_replay_with_openssl_in_r(r: Any) -> None:
    r(f"source({r_string(str(R_TESTS / 'helper-spec.R'))})")
    rows = r(f"replay_all_openssl({r_string(str(SPEC))})")
    checks = list(rows.rx2("check"))
    ok = list(rows.rx2("ok"))
    files = set(rows.rx2("file"))
    vector_files = {p.name for p in (SPEC / "vectors").rglob("*.json")}
    assert files == vector_files
    unchecked = [c for c, o in zip(checks, ok, strict=True) if o is not True and o is not False]
    assert unchecked and all(c.startswith(("PS", "ES")) for c in unchecked)
    failed = [c for c, o in zip(checks, ok, strict=True) if o is False]
    assert failed == []
    assert sum(1 for c in checks if "re-signed byte for byte" in c) >= 10


@pytest.mark.parametrize("value", ["grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer", "s3:cr%t+é 🔑", ""])
def test_r_encodes_form_fields_and_basic_credentials_as_python_does(r: Any, value: str) -> None:
    r(f"source({r_string(str(R_TESTS / 'helper-spec.R'))})")
    assert r(f"form_component({r_string(value)})")[0] == quote_plus(value, safe="")
    assert r(f'form_component({r_string(value)}, space = "%20")')[0] == quote(value, safe="")


def test_a_core_error_becomes_classed_r_conditions(r: Any) -> None:
    classes = list(
        r(
            "class(m2mauth:::core_condition(list(family = 'config', code = 'key_algorithm_mismatch', "
            "message = 'this RSA key cannot sign HS256', hint = 'Sign with RS256.')))"
        )
    )
    assert classes[:3] == ["m2mauth_error_key_algorithm_mismatch", "m2mauth_config_error", "m2mauth_error"]
    assert "error" in classes
    endpoint = list(
        r(
            "class(m2mauth:::core_condition(list(family = 'token_endpoint', code = 'invalid_request', "
            "provider_code = 'body_not_form_encoded', status = 400L, message = 'Missing grant_type')))"
        )
    )
    assert endpoint[:4] == [
        "m2mauth_error_body_not_form_encoded",
        "m2mauth_error_invalid_request",
        "m2mauth_token_endpoint_error",
        "m2mauth_error",
    ]
    message = r(
        "conditionMessage(m2mauth:::core_condition("
        "list(family = 'config', code = 'x', message = 'what', hint = 'fix')))"
    )[0]
    assert message == "what\nHint: fix"


def test_argument_checks_fail_in_r_with_classed_conditions(r: Any) -> None:
    calls = [
        'm2m_token("clms", flow = 1)',
        'm2m_token("clms", "positional.json")',
        'm2m_sign_jwt(list("unnamed"), "key.pem")',
        "m2m_inspect(42)",
        'm2m_explain("{}", status = 400.5)',
        'req_auth_m2m("not a request", "clms")',
    ]
    for call in calls:
        caught = r(f"tryCatch({call}, m2mauth_error = function(e) class(e))")
        assert list(caught)[:3] == ["m2mauth_error_invalid_argument", "m2mauth_config_error", "m2mauth_error"], call


def test_a_token_prints_redacted(r: Any) -> None:
    r(
        "tok <- m2mauth:::new_token('ACCESS-SECRET-VALUE', refresh_token = 'REFRESH-SECRET-VALUE', "
        "expires_at = as.POSIXct('2026-01-01 01:00:00', tz = 'UTC'), scope = 'openid', "
        "issued_at = as.POSIXct('2026-01-01 00:00:00', tz = 'UTC'))"
    )
    shown = "\n".join([text(r, "print(tok)"), text(r, "str(tok)"), text(r, "tok"), str(r("format(tok)"))])
    assert "SECRET" not in shown
    assert "<redacted>" in shown
    assert "scope:         openid" in shown
    assert r("tok$access_token")[0] == "ACCESS-SECRET-VALUE"


def test_a_diagnosis_and_an_explanation_print_their_fixes(r: Any) -> None:
    r(
        "d <- m2mauth:::new_diagnosis(findings = data.frame(code = 'hmac_instead_of_rsa', severity = 'error', "
        "message = 'signed HS256 (HMAC) but clms only accepts RS256', hint = 'Sign with RS256.', "
        "stringsAsFactors = FALSE), header_json = '{\"alg\":\"HS256\"}', claims_json = '{}')"
    )
    shown = text(r, "print(d)")
    assert "<m2mauth_diagnosis> 1 error" in shown
    assert "x hmac_instead_of_rsa: signed HS256" in shown
    assert "fix: Sign with RS256." in shown
    assert r("d$ok")[0] is False
    r(
        "e <- m2mauth:::new_explanation('body_not_form_encoded', 'HTTP 400 invalid_request: Missing grant_type', "
        "hint = 'Send the body form-encoded.', status = 400L, error = 'invalid_request')"
    )
    shown = text(r, "print(e)")
    assert shown.splitlines()[0] == "<m2mauth_explanation> body_not_form_encoded (HTTP 400 invalid_request)"
    assert "Fix: Send the body form-encoded." in shown


def test_req_auth_m2m_builds_a_request_without_python(r: Any) -> None:
    r('req <- req_auth_m2m(httr2::request("https://example.org/data"), "clms", service_key = "key.json")')
    assert list(r("class(req)")) == ["httr2_request"]
    assert r("is.environment(attr(req, 'm2mauth'))")[0] is True
    assert r("is.null(attr(req, 'm2mauth')$token)")[0] is True


def test_the_seed_grant_fixture_is_what_r_decodes(r: Any) -> None:
    r(f"source({r_string(str(R_TESTS / 'helper-spec.R'))})")
    header = r(f"rawToChar(b64url_decode(strsplit({r_string(SEED_GRANT)}, '.', fixed = TRUE)[[1]][1]))")[0]
    assert json.loads(header) == {"typ": "JWT", "alg": "HS256", "alg.1": "RS256"}


# The round trip rpy2 -> R -> reticulate -> Python, in a child Python process of its own. From
# reticulate 1.43 (its exit finalizer, PR #1786) a process that did this hangs at exit, holding the
# GIL inside rpy2's shutdown: run here, it would keep pytest from ever exiting. The child prints
# its findings as one marked JSON line (rpy2 may print a warning before it) and ends with
# os._exit(0), skipping the finalizers; it runs without the LD_LIBRARY_PATH R set in this process
# (with it, the child's Python loads Debian's libpython).
ROUND_TRIP = """
import json, os, sys
import rpy2.robjects as robjects
r = robjects.r
os.environ["M2MAUTH_PYTHON"] = sys.executable  # reticulate attaches to this very interpreter
r("suppressPackageStartupMessages(library(m2mauth))")
out = {"reticulate": str(r('as.character(packageVersion("reticulate"))')[0])}
out["profiles"] = list(r("m2m_list_profiles()"))
out["codes"] = list(r('m2m_inspect(' + json.dumps(sys.argv[1]) + ', "clms")$findings$code'))
out["jwt"] = str(r('m2m_sign_jwt(list(iss = "r", iat = 1767225600), ' + json.dumps(sys.argv[2]) + ')')[0])
out["started"] = bool(r("reticulate::py_available(initialize = FALSE)")[0])
sys.stdout.write("\\nM2MAUTH-RESULT " + json.dumps(out) + "\\n")
sys.stdout.flush()
os._exit(0)
"""


def run_round_trip_child(timeout: float = SUBPROCESS_TIMEOUT) -> dict[str, Any]:
    key = (SPEC / "keys" / "test-rsa-2048.pkcs8.pem").read_text(encoding="ascii")
    env = r_env()
    env.pop("LD_LIBRARY_PATH", None)
    try:
        done = subprocess.run(
            [sys.executable, "-c", ROUND_TRIP, SEED_GRANT, key],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"the rpy2 round-trip child did not exit within {timeout} s: {exc.stderr!r}")
    assert done.returncode == 0, done.stdout + done.stderr
    lines = [line for line in done.stdout.splitlines() if line.startswith("M2MAUTH-RESULT ")]
    assert lines, done.stdout + done.stderr
    result: dict[str, Any] = json.loads(lines[-1].split(" ", 1)[1])
    return result


def test_round_trips_through_rpy2_and_reticulate_in_a_child_that_exits(r: Any) -> None:
    version = str(r('as.character(packageVersion("reticulate"))')[0])
    if not r('packageVersion("reticulate") >= "1.31"')[0]:
        pytest.skip(
            f"reticulate {version} < 1.31: R embedded by rpy2 must not call back into Python (it crashes at the "
            "next R garbage collection); these round trips run in a subprocess Rscript (test_r_subprocess.py)"
        )
    import jwt

    out = run_round_trip_child()
    assert out["reticulate"] == version
    assert out["started"] is True
    assert out["profiles"] == m2mauth.list_profiles()
    assert {"duplicate_alg_header", "hmac_instead_of_rsa"} <= set(out["codes"])
    token = out["jwt"]
    public = m2mauth.load_key(SPEC / "keys" / "test-rsa-2048.public.jwk.json")
    assert jwt.get_unverified_header(token)["alg"] == "RS256"
    assert public.verify(token.rsplit(".", 1)[0].encode(), jwt.utils.base64url_decode(token.rsplit(".", 1)[1]), "RS256")
