"""Tolerant access to a vector document's groups, tests and inputs (the schema stage reports shapes)."""

from __future__ import annotations

import json
from typing import Any

from vectorcheck.encoding import b64url_decode

JsonObject = dict[str, Any]


def as_object(value: Any) -> JsonObject:
    """value when it is a JSON object, else an empty one (the schema stage reports shapes)."""
    return value if isinstance(value, dict) else {}


def json_object(text: Any) -> JsonObject | None:
    """The JSON object a text holds, or None."""
    if not isinstance(text, str):
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def groups_of(document: Any) -> list[JsonObject]:
    groups = as_object(document).get("testGroups")
    return [g for g in groups if isinstance(g, dict)] if isinstance(groups, list) else []


def tests_in(group: JsonObject) -> list[JsonObject]:
    tests = group.get("tests")
    return [t for t in tests if isinstance(t, dict)] if isinstance(tests, list) else []


def tests_of(document: Any) -> list[JsonObject]:
    return [test for group in groups_of(document) for test in tests_in(group)]


def setting(test: JsonObject, group: JsonObject, name: str) -> Any:
    """input.<name>, falling back to the group's client.<name>."""
    test_input = as_object(test.get("input"))
    if name in test_input:
        return test_input[name]
    return as_object(group.get("client")).get(name)


def claims_of(test: JsonObject) -> JsonObject | None:
    intermediate = as_object(test.get("intermediate"))
    if "claims" in intermediate:
        return json_object(intermediate["claims"])
    claims = as_object(test.get("input")).get("claims")
    return claims if isinstance(claims, dict) else None


def alg_of(test: JsonObject) -> str | None:
    """input.alg, else the alg of the header text, else the alg of the JWS header."""
    given = as_object(test.get("input")).get("alg")
    if isinstance(given, str):
        return given
    header = json_object(as_object(test.get("intermediate")).get("header"))
    if header is None:
        jws = as_object(test.get("expected")).get("jws")
        if isinstance(jws, str) and jws.count(".") == 2:
            try:
                header = json_object(b64url_decode(jws.split(".")[0]).decode("utf-8"))
            except (ValueError, UnicodeDecodeError):
                header = None
    if header is not None and isinstance(header.get("alg"), str):
        return str(header["alg"])
    return None
