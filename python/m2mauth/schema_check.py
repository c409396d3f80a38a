"""The spec's JSON Schemas applied without the jsonschema package: the subset of keywords they use.

The profile loader must reject exactly what ``spec/schema/profile.schema.json`` rejects, and say
where and why in words a profile author can act on ("did you mean token_url?"). Reading the
schema itself keeps one source of truth; jsonschema stays a test dependency, and a test feeds the
same mutated profiles to both and requires the same verdicts.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

__all__ = ["KEYWORDS", "Problem", "check", "load_schema", "suggest"]

#: The keywords this checker applies; the others in the spec's schemas are annotations.
KEYWORDS = frozenset(
    {
        "$ref",
        "type",
        "enum",
        "const",
        "required",
        "properties",
        "additionalProperties",
        "propertyNames",
        "items",
        "minItems",
        "minimum",
        "minLength",
        "pattern",
        "if",
        "then",
    }
)
ANNOTATIONS = frozenset({"$schema", "$id", "$defs", "title", "description"})

_TYPE_WORDS = {
    "object": "an object",
    "array": "a list",
    "string": "text",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
}


@dataclass(frozen=True)
class Problem:
    """One reason an instance fails its schema: where (a JSON path such as ``flows[0].tokn_url``) and what."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path or '(top level)'}: {self.message}"


@cache
def load_schema(name: str) -> Mapping[str, Any]:
    """A schema of the spec, read once (from the installed wheel or the source tree)."""
    from .profiles import spec_path

    loaded: Mapping[str, Any] = json.loads(spec_path("schema", name).read_text(encoding="utf-8"))
    return loaded


def suggest(word: object, choices: Any) -> str | None:
    """The nearest valid spelling of ``word`` among ``choices``, if one is close enough to be a typo."""
    if not isinstance(word, str):
        return None
    found = difflib.get_close_matches(word, [c for c in choices if isinstance(c, str)], n=1, cutoff=0.6)
    return found[0] if found else None


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__


def _is_type(value: object, name: str) -> bool:
    kind = _json_type(value)
    if name == "integer":  # JSON Schema counts 2.0 as an integer (a number with no fraction)
        return kind == "integer" or (isinstance(value, float) and value.is_integer())
    if name == "number":
        return kind in ("integer", "number")
    return kind == name


def _same(value: object, allowed: object) -> bool:
    # JSON equality: true is not 1, and 1 is 1.0.
    if isinstance(value, bool) or isinstance(allowed, bool):
        return isinstance(value, bool) and isinstance(allowed, bool) and value is allowed
    if _json_type(value) in ("integer", "number") and _json_type(allowed) in ("integer", "number"):
        return bool(value == allowed)
    return _json_type(value) == _json_type(allowed) and bool(value == allowed)


def _join(path: str, member: object) -> str:
    if isinstance(member, int):
        return f"{path}[{member}]"
    text = str(member)
    if not re.fullmatch(r"[A-Za-z_$][A-Za-z0-9_$-]*", text):
        text = json.dumps(text)
    return f"{path}.{text}" if path else text


def _shown(value: object) -> str:
    text = json.dumps(value, ensure_ascii=False, default=repr) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _resolve(root: Mapping[str, Any], schema: Mapping[str, Any]) -> Mapping[str, Any]:
    while "$ref" in schema:
        ref = schema["$ref"]
        if not isinstance(ref, str) or not ref.startswith("#/"):
            raise ValueError(f"only local $refs are supported, not {ref!r}")
        target: Any = root
        for part in ref[2:].split("/"):
            target = target[part]
        schema = target
    return schema


def check(
    instance: object, schema: Mapping[str, Any], root: Mapping[str, Any] | None = None, path: str = ""
) -> list[Problem]:
    """Every problem of ``instance`` against ``schema`` (empty when valid)."""
    root = schema if root is None else root
    schema = _resolve(root, schema)
    problems: list[Problem] = []
    wanted = schema.get("type")
    if wanted is not None:
        names = wanted if isinstance(wanted, list) else [wanted]
        if not any(_is_type(instance, n) for n in names):
            return [Problem(path, _type_message(instance, names))]
    if "const" in schema and not _same(instance, schema["const"]):
        problems.append(Problem(path, f"must be {_shown(schema['const'])}"))
    if "enum" in schema and not any(_same(instance, allowed) for allowed in schema["enum"]):
        problems.append(Problem(path, _enum_message(instance, schema["enum"])))
    if isinstance(instance, str):
        if "minLength" in schema and len(instance) < schema["minLength"]:
            problems.append(Problem(path, "must not be empty" if schema["minLength"] == 1 else "is too short"))
        if "pattern" in schema and not re.search(schema["pattern"], instance):
            rule = schema.get("description") or f"the pattern {schema['pattern']}"
            problems.append(Problem(path, f"{_shown(instance)} does not follow {rule}"))
    if _json_type(instance) in ("integer", "number") and "minimum" in schema:
        if instance < schema["minimum"]:
            problems.append(Problem(path, f"must be at least {schema['minimum']}, not {_shown(instance)}"))
    if isinstance(instance, list):
        if "minItems" in schema and len(instance) < schema["minItems"]:
            problems.append(Problem(path, "must not be empty" if schema["minItems"] == 1 else "has too few items"))
        if "items" in schema:
            for index, item in enumerate(instance):
                problems += check(item, schema["items"], root, _join(path, index))
    if isinstance(instance, Mapping):
        problems += _check_object(instance, schema, root, path)
    if "if" in schema and not check(instance, schema["if"], root, path) and "then" in schema:
        problems += check(instance, schema["then"], root, path)
    return problems


def _check_object(
    instance: Mapping[Any, Any], schema: Mapping[str, Any], root: Mapping[str, Any], path: str
) -> list[Problem]:
    problems: list[Problem] = []
    properties: Mapping[str, Any] = schema.get("properties", {})
    for name in schema.get("required", ()):
        if name not in instance:
            problems.append(Problem(path, f"the member {name} is missing"))
    extra = schema.get("additionalProperties", True)
    for name, value in instance.items():
        where = _join(path, name)
        if "propertyNames" in schema:
            problems += check(name, schema["propertyNames"], root, where)
        if isinstance(name, str) and name in properties:
            problems += check(value, properties[name], root, where)
        elif extra is False:
            close = suggest(name, properties)
            problems.append(
                Problem(
                    where,
                    "unknown member"
                    + (f"; did you mean {close}?" if close else f" (allowed: {', '.join(properties)})"),
                )
            )
        elif isinstance(extra, Mapping):
            problems += check(value, extra, root, where)
    return problems


def _type_message(value: object, names: list[str]) -> str:
    expected = " or ".join(_TYPE_WORDS.get(n, n) for n in names)
    message = f"must be {expected}, not {_TYPE_WORDS.get(_json_type(value), _json_type(value))}"
    if (
        isinstance(value, str)
        and any(n in ("integer", "number") for n in names)
        and re.fullmatch(r"-?\d+", value.strip())
    ):
        message += f" (write {value.strip()} without quotes)"
    if isinstance(value, str) and "boolean" in names and value.strip().lower() in ("true", "false"):
        message += f" (write {value.strip().lower()} without quotes)"
    if isinstance(value, str) and "array" in names:
        message += f" (write [{json.dumps(value, ensure_ascii=False)}])"
    return message


def _enum_message(value: object, allowed: list[Any]) -> str:
    close = suggest(value, allowed)
    if close is not None:
        return f"{_shown(value)} is not allowed; did you mean {close}?"
    return f"{_shown(value)} is not allowed; use one of: " + ", ".join(str(a) for a in allowed)
