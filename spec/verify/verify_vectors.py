#!/usr/bin/env python3
"""Independent checker for m2mauth's test vectors (spec/vectors/**/*.json).

This script never imports m2mauth. It uses the Python standard library and the
``cryptography`` package only; when ``jsonschema`` is importable it also validates
every file against ``spec/schema/vectors.schema.json``.

Usage::

    python spec/verify/verify_vectors.py [PATH ...]

A PATH may be a file or a folder (searched for ``*.json``); without PATH every
``*.json`` below ``spec/vectors`` is checked. The script prints one line per file
(the failure details go to stderr), then a final line ``verify: N passed, N failed``
counting files. It exits non-zero when a file fails or when there is no file at all.

Every failure message names the stage that diverged:

``schema``        the file does not validate against vectors.schema.json;
``lint``          duplicate tcId, wrong numberOfTests, undeclared flag,
                  non-canonical formatting, result and error_code disagree;
``key``           the group key cannot be loaded or disagrees with its kty/publicJwk;
``intermediate``  base64url(header) "." base64url(claims) is not signingInput,
                  or the header's alg is not input.alg;
``jws``           expected.jws is not a compact JWS over the signing input;
``signature``     the signature does not verify, or re-signing gives other bytes;
``tokenRequest``  the token request does not follow spec/CONVENTIONS.md;
``error_code``    an invalid test's error_code is not confirmed by its rule.

A ``jws`` in any test, whatever its result, must carry a correct signature: the
vectors describe what a signer produces, never a deliberately broken token.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

# Run as a script (or through runpy), this folder is not always on sys.path; the stages live
# beside this file in the vectorcheck package.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from vectorcheck.document import JsonObject, tests_of
from vectorcheck.encoding import (
    b64url_decode,
    b64url_encode,
    basic_authorization,
    canonical_text,
    form_encode,
    form_encode_component,
)
from vectorcheck.error_codes import KNOWN_ERROR_CODES, check_error_code
from vectorcheck.errors import VectorError
from vectorcheck.group_context import GroupContext
from vectorcheck.jws_checks import check_intermediate, check_jws
from vectorcheck.keys import LoadedKey, PrivateKey, PublicKey, key_from_jwk, load_group_key
from vectorcheck.signatures import alg_fits_kty, check_signature
from vectorcheck.spec_paths import SPEC_DIR, VECTORS_DIR, VECTORS_SCHEMA
from vectorcheck.token_request import (
    ACCEPT_JSON,
    CONTENT_TYPE_FORM,
    JWT_BEARER_CLIENT_ASSERTION,
    JWT_BEARER_GRANT,
    check_token_request,
)
from vectorcheck.vector_file import default_paths, lint_failures, schema_failures, verify_file

# The names this script offered before its stages moved into vectorcheck (the self-test uses them).
__all__ = [
    "ACCEPT_JSON",
    "CONTENT_TYPE_FORM",
    "JWT_BEARER_CLIENT_ASSERTION",
    "JWT_BEARER_GRANT",
    "KNOWN_ERROR_CODES",
    "SPEC_DIR",
    "VECTORS_DIR",
    "VECTORS_SCHEMA",
    "GroupContext",
    "JsonObject",
    "LoadedKey",
    "PrivateKey",
    "PublicKey",
    "VectorError",
    "alg_fits_kty",
    "b64url_decode",
    "b64url_encode",
    "basic_authorization",
    "canonical_text",
    "check_error_code",
    "check_intermediate",
    "check_jws",
    "check_signature",
    "check_token_request",
    "default_paths",
    "form_encode",
    "form_encode_component",
    "key_from_jwk",
    "lint_failures",
    "load_group_key",
    "main",
    "schema_failures",
    "verify_file",
]


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(SPEC_DIR.parent))
    except ValueError:
        return str(path)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point; returns the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    if any(arg in ("-h", "--help") for arg in args):
        print(__doc__)
        return 0
    paths: list[Path] = []
    for arg in args:
        given = Path(arg)
        paths.extend(default_paths(given) if given.is_dir() else [given])
    if not args:
        paths = default_paths()
    if not paths:
        print("verify: no vector files found", file=sys.stderr)
    passed = failed = 0
    for path in paths:
        failures = verify_file(path)
        name = _display(path)
        if failures:
            failed += 1
            print(f"FAIL {name} ({len(failures)} problems)")
            for message in failures:
                print(f"  {name}: {message}", file=sys.stderr)
        else:
            passed += 1
            count = len(tests_of(json.loads(path.read_text(encoding="utf-8"))))
            print(f"ok   {name} ({count} tests)")
    print(f"verify: {passed} passed, {failed} failed")
    return 1 if failed or not paths else 0


if __name__ == "__main__":
    sys.exit(main())
