"""Stage e: the token request follows spec/CONVENTIONS.md byte for byte."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import urlsplit

from vectorcheck.document import JsonObject, as_object, setting
from vectorcheck.encoding import basic_authorization, form_encode
from vectorcheck.errors import VectorError
from vectorcheck.group_context import GroupContext

ACCEPT_JSON = ("Accept", "application/json")
CONTENT_TYPE_FORM = ("Content-Type", "application/x-www-form-urlencoded")
JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
JWT_BEARER_CLIENT_ASSERTION = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _pairs(value: Any, what: str) -> list[tuple[str, str]]:
    if not isinstance(value, list):
        raise VectorError("tokenRequest", f"{what} is not a list of [name, value] pairs")
    pairs: list[tuple[str, str]] = []
    for item in value:
        if not (isinstance(item, list) and len(item) == 2 and all(isinstance(x, str) for x in item)):
            raise VectorError("tokenRequest", f"{what} entry {item!r} is not a [name, value] pair")
        pairs.append((item[0], item[1]))
    return pairs


def check_token_request(test: JsonObject, ctx: GroupContext) -> None:
    """Stage e: the token request is what spec/CONVENTIONS.md says, byte for byte."""
    expected = as_object(test.get("expected"))
    request = expected.get("tokenRequest")
    if request is None:
        if ctx.type == "TokenRequestTest" and test.get("result") != "invalid":
            raise VectorError("tokenRequest", "a TokenRequestTest that is not invalid needs one")
        return
    if not isinstance(request, dict):
        raise VectorError("tokenRequest", "expected.tokenRequest is not an object")
    method, url, body = (
        request.get("method"),
        request.get("url"),
        request.get("body", ""),
    )
    headers = _pairs(request.get("headers"), "headers")
    form = _pairs(request.get("form"), "form")
    if not isinstance(url, str) or not isinstance(body, str):
        raise VectorError("tokenRequest", "url and body must be strings")
    encoding = request.get("encoding", "form")
    encoded = form_encode(form)
    if method == "POST" and encoding != "form":
        _check_login_request(encoding, headers, form, body, test, ctx)
        return
    if method == "POST":
        if body != encoded:
            raise VectorError(
                "tokenRequest",
                f"body is not the encoding of form: expected {encoded!r}, found {body!r}",
            )
        if headers[:2] != [ACCEPT_JSON, CONTENT_TYPE_FORM]:
            raise VectorError(
                "tokenRequest",
                f"POST headers must begin with {[ACCEPT_JSON, CONTENT_TYPE_FORM]}, found {headers[:2]}",
            )
        rest = [name for name, _ in headers[2:]]
        if rest not in ([], ["Authorization"]):
            raise VectorError(
                "tokenRequest",
                f"after Content-Type only Authorization may follow, found {rest}",
            )
    elif method == "GET":
        if body != "":
            raise VectorError("tokenRequest", "a GET request with a non-empty body")
        if headers != [ACCEPT_JSON]:
            raise VectorError(
                "tokenRequest",
                f"GET headers must be exactly [{ACCEPT_JSON}], found {headers}",
            )
        query = urlsplit(url).query
        if query != encoded:
            raise VectorError(
                "tokenRequest",
                f"the query is not the encoding of form: expected {encoded!r}, found {query!r}",
            )
    else:
        raise VectorError("tokenRequest", f"method {method!r} is neither GET nor POST")
    _check_assertions(dict(form), expected.get("jws"))
    for name, value in headers:
        if name == "Authorization" and value.startswith("Basic "):
            _check_basic(value, test, ctx)


def _check_login_request(
    encoding: Any,
    headers: list[tuple[str, str]],
    form: list[tuple[str, str]],
    body: str,
    test: JsonObject,
    ctx: GroupContext,
) -> None:
    """A provider's own login (spec/README.md, "Request shapes"): a JSON object of the fields, or
    HTTP Basic username:password (RFC 7617, UTF-8, nothing percent-encoded) and no body."""
    if encoding == "json":
        want = json.dumps(dict(form), separators=(",", ":"), ensure_ascii=True)
        if body != want:
            raise VectorError("tokenRequest", f"body is not the JSON object of form: expected {want!r}, found {body!r}")
        if headers != [ACCEPT_JSON, ("Content-Type", "application/json")]:
            raise VectorError(
                "tokenRequest", f"JSON login headers must be Accept and Content-Type JSON, found {headers}"
            )
        return
    if encoding != "none":
        raise VectorError("tokenRequest", f"unknown encoding {encoding!r}")
    if body != "" or form:
        raise VectorError("tokenRequest", "encoding none: no body and no form")
    username = setting(test, ctx.group, "username")
    password = setting(test, ctx.group, "password")
    if not isinstance(username, str) or not isinstance(password, str):
        raise VectorError("tokenRequest", "Basic login but no input.username/password")
    want_auth = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
    if headers != [ACCEPT_JSON, ("Authorization", want_auth)]:
        raise VectorError("tokenRequest", f"Basic login headers should be Accept and {want_auth!r}, found {headers}")


def _check_assertions(form: dict[str, str], jws: Any) -> None:
    for field in ("assertion", "client_assertion"):
        if field in form and form[field] != jws:
            raise VectorError("tokenRequest", f"form {field} is not expected.jws")
    # RFC 7523 sections 2.1 and 2.2: the parameter that goes with each kind of assertion.
    if "assertion" in form and form.get("grant_type") != JWT_BEARER_GRANT:
        raise VectorError("tokenRequest", f"assertion without grant_type {JWT_BEARER_GRANT}")
    if "client_assertion" in form and form.get("client_assertion_type") != JWT_BEARER_CLIENT_ASSERTION:
        raise VectorError(
            "tokenRequest",
            f"client_assertion without client_assertion_type {JWT_BEARER_CLIENT_ASSERTION}",
        )


def _check_basic(value: str, test: JsonObject, ctx: GroupContext) -> None:
    client_id = setting(test, ctx.group, "client_id")
    client_secret = setting(test, ctx.group, "client_secret")
    encoding = setting(test, ctx.group, "basic_encoding") or "rfc"
    if not isinstance(client_id, str) or not isinstance(client_secret, str):
        raise VectorError("tokenRequest", "Basic authorization but no input.client_id/client_secret")
    try:
        want = basic_authorization(client_id, client_secret, str(encoding))
    except ValueError as exc:
        raise VectorError("tokenRequest", str(exc)) from exc
    if value != want:
        raise VectorError(
            "tokenRequest",
            f"Authorization ({encoding}) should be {want!r}, found {value!r}",
        )
