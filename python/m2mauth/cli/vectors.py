"""``m2mauth vectors verify``: replay the spec's test vectors through the m2mauth core."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ..errors import ConfigError, M2MAuthError
from .common import EXIT_FAILED, EXIT_OK, Console


class _Skip(Exception):
    """A vector that cannot be replayed here (a key file not shipped with the wheel)."""


class _VectorFailure(Exception):
    def __init__(self, stage: str, detail: str) -> None:
        super().__init__(f"{stage}: {detail}")
        self.stage, self.detail = stage, detail


def _find_file(reference: str, start: Path) -> Path:
    from ..profiles import spec_path

    for base in (*start.parents, spec_path()):
        candidate = base / reference
        if candidate.is_file():
            return candidate
    raise _Skip(f"{reference} not found (test keys ship with the source tree, not the wheel)")


def _resolve(value: Any, start: Path) -> Any:
    from ..vectors import resolve_reference

    return resolve_reference(value, lambda name: _find_file(name, start))


def _group_key(group: dict[str, Any], start: Path) -> Any:
    from ..keys import load_key, secret_key

    spec = group.get("key")
    if not isinstance(spec, dict):
        return None
    if isinstance(spec.get("jwk"), dict):
        return load_key(spec["jwk"])
    if isinstance(spec.get("file"), str):
        path = _find_file(spec["file"], start)
        if path.suffix == ".secret":
            return secret_key(path.read_text(encoding="utf-8"))
        return load_key(path)
    if isinstance(spec.get("publicJwk"), dict):
        return load_key(spec["publicJwk"])
    return None


def _check_signature(jwt: str, key: Any, reproducible: bool) -> None:
    from ..jws import b64url_decode, sign

    head, body, signature = jwt.split(".")
    alg = json.loads(b64url_decode(head)).get("alg")
    if key is None:
        raise _VectorFailure("key", "the group has no key to check the signature with")
    if not key.verify(f"{head}.{body}".encode("ascii"), b64url_decode(signature), alg):
        raise _VectorFailure("signature", f"the {alg} signature does not verify with the group key")
    if reproducible and key.is_private and sign(f"{head}.{body}", key, alg) != jwt:
        raise _VectorFailure("signature", "re-signing gives other bytes")


def _replay_token_request(test: dict[str, Any], key: Any, start: Path) -> None:
    from ..vectors import plan_for_vector

    try:
        plan = plan_for_vector(test["input"], lambda value: _resolve(value, start))
    except ConfigError as err:
        if test.get("result") == "invalid" and err.code == test.get("error_code"):
            return
        raise _VectorFailure("error_code", f"the core refused it with {err.code}") from None
    if test.get("result") == "invalid":
        raise _VectorFailure("error_code", f"expected {test.get('error_code')}, but the core built a request")
    expected = test.get("expected", {})
    reproducible = bool(expected.get("reproducible", True))
    jwt = plan.assertion.jwt if plan.assertion else plan.request.field("client_assertion")
    signing_input = test.get("intermediate", {}).get("signingInput")
    if signing_input and (jwt is None or jwt.rsplit(".", 1)[0] != signing_input):
        raise _VectorFailure("intermediate", "the header or claims differ (signing input)")
    if "jws" in expected:
        if jwt is None:
            raise _VectorFailure("jws", "the core built no JWT")
        if reproducible and jwt != expected["jws"]:
            raise _VectorFailure("jws", "the compact JWS differs")
        if not reproducible:
            _check_signature(jwt, key, reproducible=False)
    want = expected.get("tokenRequest")
    if want is not None:
        got = plan.request.to_dict()
        if not reproducible:
            got, want = _mask_jwts(got), _mask_jwts(want)
        for part in ("method", "url", "headers", "form", "body"):
            if got.get(part) != want.get(part):
                raise _VectorFailure("tokenRequest", f"the {part} differs")


def _mask_jwts(request: dict[str, Any]) -> dict[str, Any]:
    masked = dict(request)
    masked["form"] = [[k, "<jwt>" if k in ("assertion", "client_assertion") else v] for k, v in request["form"]]
    masked["body"] = None
    return masked


def _replay_jws(test: dict[str, Any], key: Any) -> None:
    from ..diagnose import inspect
    from ..jws import b64url_encode

    expected = test.get("expected", {})
    jwt = expected.get("jws")
    intermediate = test.get("intermediate", {})
    signing_input = intermediate.get("signingInput")
    if isinstance(intermediate.get("header"), str) and isinstance(intermediate.get("claims"), str):
        built = (
            b64url_encode(intermediate["header"].encode("utf-8"))
            + "."
            + b64url_encode(intermediate["claims"].encode("utf-8"))
        )
        if built != signing_input:
            raise _VectorFailure("intermediate", "base64url(header).base64url(claims) is not the signing input")
    if not isinstance(jwt, str) or jwt.count(".") != 2:
        raise _VectorFailure("jws", "no compact JWS")
    if jwt.rsplit(".", 1)[0] != signing_input:
        raise _VectorFailure("jws", "the JWS is not over the signing input")
    _check_signature(jwt, key, reproducible=bool(expected.get("reproducible", True)))
    inp = test.get("input", {})
    if test.get("result") == "invalid":
        diagnosis = inspect(jwt, inp.get("profile"), now=inp.get("now"), token_url=inp.get("token_url"))
        codes = [f.code for f in diagnosis.findings if f.severity == "error"]
        if test.get("error_code") not in codes:
            raise _VectorFailure("error_code", f"inspect found {', '.join(codes) or 'nothing'}")


def _replay_file(path: Path) -> tuple[int, list[str], list[str]]:
    """Replay one vector file: (tests passed, failures, skipped reasons)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        groups = data["testGroups"]
    except (OSError, ValueError, KeyError, TypeError, RecursionError) as exc:
        return 0, [f"the file cannot be read as a vector file ({type(exc).__name__})"], []
    passed, failures, skipped = 0, [], []
    for group in groups:
        try:
            key = _group_key(group, path)
        except _Skip as skip:
            skipped.append(f"{len(group.get('tests', []))} test(s): {skip}")
            continue
        for test in group.get("tests", []):
            where = f"tcId {test.get('tcId')}"
            try:
                if group.get("type") == "JwsTest":
                    _replay_jws(test, key)
                else:
                    _replay_token_request(test, key, path)
                passed += 1
            except _Skip as skip:
                skipped.append(f"{where}: {skip}")
            except _VectorFailure as failure:
                failures.append(f"{where}: {failure.stage}: {failure.detail}")
            except M2MAuthError as err:
                failures.append(f"{where}: core: {err.code}")
            except Exception as exc:  # noqa: BLE001 - a malformed vector is a failure to report, not a crash
                failures.append(f"{where}: format: {type(exc).__name__}")
    return passed, failures, skipped


def cmd_vectors(args: argparse.Namespace, console: Console) -> int:
    from ..profiles import spec_path

    try:
        root = Path(args.path).expanduser() if args.path else spec_path("vectors")
        if root.is_file():
            files = [root]
        elif root.is_dir():
            files = sorted(root.rglob("*.json"))
        else:
            raise ConfigError(f"no such file or folder: {root}", code="vectors_not_found")
    except (OSError, RuntimeError) as exc:  # a name too long, no permission, '~user' with no such user
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        raise ConfigError(f"cannot read {args.path!r} ({reason})", code="vectors_not_found") from None
    if not files:
        raise ConfigError(f"no vector files (*.json) in {root}", code="vectors_not_found")
    total_passed = total_failed = total_skipped = 0
    failed_files = 0
    for path in files:
        passed, failures, skipped = _replay_file(path)
        total_passed += passed
        total_failed += len(failures)
        total_skipped += len(skipped)
        name = path.relative_to(root).as_posix() if root.is_dir() else path.name
        status = "FAIL" if failures else "ok"
        extra = f", {len(skipped)} skipped" if skipped else ""
        console.out(
            f"{status:<4} {name} ({passed} passed{', ' + str(len(failures)) + ' failed' if failures else ''}{extra})"
        )
        for failure in failures:
            console.out(f"     {failure}")
        for reason in skipped:
            console.out(f"     skipped {reason}")
        failed_files += bool(failures)
    console.out(
        f"vectors: {total_passed} passed, {total_failed} failed, {total_skipped} skipped "
        f"in {len(files)} file(s), replayed through the m2mauth core"
    )
    console.out(
        "independent check (never imports m2mauth): python spec/verify/verify_vectors.py"
        + (f" {args.path}" if args.path else "")
    )
    return EXIT_FAILED if failed_files else EXIT_OK
