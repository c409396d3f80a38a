"""Round trips from R into the Python core, each in a fresh ``Rscript`` process.

The local provider runs here, in this pytest process (a thread on 127.0.0.1); R talks to it over
HTTP, so what R did can be checked from Python (request counts, signatures verified with PyJWT).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from .conftest import SEED_GRANT, SPEC, r_env, r_json, run_r

pytestmark = pytest.mark.usefixtures("installed_r_package")

PRELUDE = "suppressPackageStartupMessages(library(m2mauth)); "


def test_a_clms_token_and_an_httr2_request_from_r(local_provider: Any, service_key_file: Path) -> None:
    code = (
        PRELUDE
        + f"""
    key <- {json.dumps(str(service_key_file))}
    token <- m2m_token("clms", service_key = key)
    shown <- paste(capture.output(print(token)), collapse = "\\n")
    req <- req_auth_m2m(httr2::req_timeout(httr2::request({json.dumps(local_provider.resource_url)}), 10),
                        "clms", service_key = key)
    first <- httr2::req_perform(req)
    second <- httr2::req_perform(req)
    cat(jsonlite::toJSON(list(
      class = class(token), shown = shown, leaked = grepl(token$access_token, shown, fixed = TRUE),
      status = c(httr2::resp_status(first), httr2::resp_status(second)),
      body = httr2::resp_body_json(second), fetched = attr(req, "m2mauth")$fetched
    ), auto_unbox = TRUE), "\\n")
    """
    )
    out = r_json(code)
    assert out["class"] == "m2mauth_token"
    assert "<redacted>" in out["shown"]
    assert out["leaked"] is False
    assert out["status"] == [200, 200]
    assert out["body"]["ok"] is True
    assert out["fetched"] == 1
    # One token for m2m_token(), one for the two httr2 requests (cached across them).
    assert local_provider.token_requests("clms") == 2


def test_r_signs_rs256_with_an_rsa_key_and_python_verifies_it() -> None:
    key_file = SPEC / "keys" / "test-clms-service-key.json"
    code = (
        PRELUDE
        + f"""
    key <- jsonlite::read_json({json.dumps(str(key_file))})
    claims <- list(iss = key$client_id, sub = key$user_id, aud = key$token_uri, iat = 1767225600, exp = 1767229200)
    cat(jsonlite::toJSON(list(jwt = m2m_sign_jwt(claims, key$private_key)), auto_unbox = TRUE), "\\n")
    """
    )
    token = r_json(code)["jwt"]
    service_key = json.loads(key_file.read_text(encoding="utf-8"))
    public = serialization.load_pem_private_key(service_key["private_key"].encode(), None).public_key()
    claims = jwt.decode(
        token, public, algorithms=["RS256"], audience=service_key["token_uri"], options={"verify_exp": False}
    )
    assert jwt.get_unverified_header(token) == {"alg": "RS256", "typ": "JWT"}
    assert claims == {
        "iss": service_key["client_id"],
        "sub": service_key["user_id"],
        "aud": service_key["token_uri"],
        "iat": 1767225600,
        "exp": 1767229200,
    }


def test_r_refuses_hmac_with_an_rsa_key() -> None:
    key_file = SPEC / "keys" / "test-clms-service-key.json"
    code = (
        PRELUDE
        + f"""
    cnd <- tryCatch(m2m_sign_jwt(list(iss = "me"), {json.dumps(str(key_file))}, alg = "HS256"), error = function(e) e)
    cat(jsonlite::toJSON(list(class = class(cnd), code = cnd$code, hint = cnd$hint), auto_unbox = TRUE), "\\n")
    """
    )
    out = r_json(code)
    assert out["class"][:3] == ["m2mauth_error_key_algorithm_mismatch", "m2mauth_config_error", "m2mauth_error"]
    assert out["code"] == "key_algorithm_mismatch"
    assert "jwt_encode_hmac" in out["hint"]


def test_r_inspects_the_seed_grant() -> None:
    code = (
        PRELUDE
        + f"""
    d <- m2m_inspect({json.dumps(SEED_GRANT)}, "clms", now = 1728466300)
    cat(jsonlite::toJSON(list(ok = d$ok, codes = d$findings$code, printed = capture.output(print(d))),
        auto_unbox = TRUE), "\\n")
    """
    )
    out = r_json(code)
    assert out["ok"] is False
    assert {"duplicate_alg_header", "hmac_instead_of_rsa"} <= set(out["codes"])
    assert any("fix:" in line for line in out["printed"])


def test_the_seeds_json_body_is_explained_from_r(local_provider: Any) -> None:
    code = (
        PRELUDE
        + f"""
    req <- httr2::request({json.dumps(local_provider.token_url("clms"))})
    req <- httr2::req_timeout(req, 10)
    req <- httr2::req_body_json(req, list(grant_type = "urn:ietf:params:oauth:grant-type:jwt-bearer",
                                          assertion = {json.dumps(SEED_GRANT)}))
    answer <- tryCatch(httr2::req_perform(req), httr2_http = function(cnd) cnd)
    e <- m2m_explain(answer, "clms")
    cat(jsonlite::toJSON(list(code = e$code, status = e$status, description = e$error_description, hint = e$hint),
        auto_unbox = TRUE), "\\n")
    """
    )
    out = r_json(code)
    assert out == {
        "code": "body_not_form_encoded",
        "status": 400,
        "description": "Missing 'grant_type'",
        "hint": out["hint"],
    }
    assert "req_body_form" in out["hint"]


def test_a_wrong_python_is_one_classed_condition() -> None:
    code = (
        PRELUDE
        + """
    cnd <- tryCatch(m2m_list_profiles(), error = function(e) e)
    cat(jsonlite::toJSON(list(class = class(cnd), message = conditionMessage(cnd)), auto_unbox = TRUE), "\\n")
    """
    )
    out = r_json(code, env=r_env(M2MAUTH_PYTHON="/nonexistent/bin/python"))
    assert out["class"][0] == "m2mauth_python_error"
    assert "m2mauth::install_m2mauth()" in out["message"]


def test_library_is_quick_and_does_not_start_python() -> None:
    output = run_r(
        "t <- system.time(suppressPackageStartupMessages(library(m2mauth)))[['elapsed']]; "
        "cat(reticulate::py_available(initialize = FALSE), t < 10, '\\n')",
        env=r_env(M2MAUTH_PYTHON="/nonexistent/bin/python"),
    )
    assert output.split()[-2:] == ["FALSE", "TRUE"]
