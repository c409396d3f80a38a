"""Checking one vector file: schema, lint, then every stage for every test of every group."""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vectorcheck.document import JsonObject, as_object, groups_of, tests_in, tests_of
from vectorcheck.encoding import canonical_text
from vectorcheck.error_codes import check_error_code
from vectorcheck.errors import VectorError
from vectorcheck.group_context import GroupContext
from vectorcheck.jws_checks import check_intermediate, check_jws
from vectorcheck.keys import load_group_key
from vectorcheck.spec_paths import SPEC_DIR, VECTORS_DIR, VECTORS_SCHEMA
from vectorcheck.token_request import check_token_request

_STAGES: tuple[Callable[[JsonObject, GroupContext], None], ...] = (
    check_intermediate,
    check_jws,
    check_token_request,
    check_error_code,
)


def schema_failures(document: Any, schema_dir: Path) -> list[str]:
    """Validate against vectors.schema.json when jsonschema is importable; else no check."""
    try:
        jsonschema = importlib.import_module("jsonschema")
        referencing = importlib.import_module("referencing")
    except ImportError:
        return []
    schema_path = schema_dir / VECTORS_SCHEMA
    if not schema_path.is_file():
        return [f"[schema] {schema_path} not found"]
    resources = []
    for path in sorted(schema_dir.glob("*.schema.json")):
        contents = json.loads(path.read_text(encoding="utf-8"))
        uri = str(contents.get("$id", path.name))
        resources.append((uri, referencing.Resource.from_contents(contents)))
    registry = referencing.Registry().with_resources(resources)
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema, registry=registry)
    failures = []
    for error in sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.absolute_path))):
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        failures.append(f"[schema] {where}: {error.message}")
    return failures


def lint_failures(text: str, document: Any) -> list[str]:
    """Stage a: formatting, numberOfTests, unique tcId, declared flags, result/error_code."""
    failures: list[str] = []
    if text != canonical_text(document):
        failures.append("[lint] not in canonical formatting: json.dumps(obj, indent=2, ensure_ascii=False) + newline")
    if not isinstance(document, dict):
        return [*failures, "[lint] the top level is not an object"]
    if document.get("schema") != VECTORS_SCHEMA:
        failures.append(f"[lint] schema is {document.get('schema')!r}, not {VECTORS_SCHEMA!r}")
    tests = tests_of(document)
    if document.get("numberOfTests") != len(tests):
        failures.append(f"[lint] numberOfTests is {document.get('numberOfTests')!r}, the file has {len(tests)} tests")
    notes = as_object(document.get("notes"))
    seen: set[Any] = set()
    for test in tests:
        tc_id = test.get("tcId")
        if tc_id in seen:
            failures.append(f"tcId {tc_id}: [lint] duplicate tcId")
        seen.add(tc_id)
        flags = test.get("flags")
        for flag in flags if isinstance(flags, list) else []:
            if flag not in notes:
                failures.append(f"tcId {tc_id}: [lint] flag {flag!r} is not declared in notes")
        result, code = test.get("result"), test.get("error_code")
        if result not in ("valid", "invalid", "acceptable"):
            failures.append(f"tcId {tc_id}: [lint] result {result!r} is not valid/invalid/acceptable")
        if result == "invalid" and not (isinstance(code, str) and code):
            failures.append(f"tcId {tc_id}: [lint] an invalid test needs an error_code")
        if result == "valid" and code is not None:
            failures.append(f"tcId {tc_id}: [lint] a valid test has error_code {code!r}")
    return failures


def verify_file(path: Path, spec_dir: Path | None = None) -> list[str]:
    """Check one vector file and return its failure messages (none when it passes).

    A message reads ``[stage] text`` for a file-wide problem, ``group N: [stage] text``
    for a group key and ``tcId N: [stage] text`` for a test. Key files and schemas are
    looked up in spec_dir (default: the spec/ folder this script lives in).
    """
    spec = SPEC_DIR if spec_dir is None else spec_dir
    try:
        text = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return [f"[lint] cannot read the file as UTF-8: {exc}"]
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        return [f"[lint] not JSON: {exc}"]
    failures = schema_failures(document, spec / "schema") + lint_failures(text, document)
    for index, group in enumerate(groups_of(document)):
        ctx = GroupContext(group=group, key=None, key_error=None)
        if "key" in group:
            try:
                ctx.key = load_group_key(group["key"], spec)
            except VectorError as exc:
                ctx.key_error = exc
                failures.append(f"group {index}: [{exc.stage}] {exc.message}")
        for test in tests_in(group):
            for stage in _STAGES:
                try:
                    stage(test, ctx)
                except VectorError as exc:
                    failures.append(f"tcId {test.get('tcId')}: [{exc.stage}] {exc.message}")
    return failures


def default_paths(folder: Path = VECTORS_DIR) -> list[Path]:
    """Every *.json file below folder, sorted."""
    return sorted(p for p in folder.rglob("*.json") if p.is_file())
