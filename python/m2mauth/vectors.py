"""Replaying a spec vector's input through the core: shared by the generator and `m2mauth vectors verify`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from .credentials import CREDENTIAL_NAMES
from .flows import Plan, plan_request

__all__ = ["plan_for_vector", "resolve_reference"]


def resolve_reference(value: Any, find: Callable[[str], Path]) -> Any:
    """A vector's ``{"file": "keys/..."}`` as the core takes it: a path, or a ``.secret`` file's text."""
    if isinstance(value, dict) and set(value) == {"file"}:
        path = find(str(value["file"]))
        return path.read_text(encoding="utf-8") if path.suffix == ".secret" else str(path)
    return value


def plan_for_vector(inp: Mapping[str, Any], resolve: Callable[[Any], Any]) -> Plan:
    """The plan the core makes for a vector's input (fixed clock and jti, no environment)."""
    credentials = {name: resolve(value) for name, value in inp.items() if name in CREDENTIAL_NAMES}
    jti = inp.get("jti")
    return plan_request(
        inp["profile"],
        flow=inp.get("flow"),
        auth_method=inp.get("auth_method"),
        basic_encoding=inp.get("basic_encoding"),
        alg=inp.get("alg"),
        lifetime=inp.get("lifetime"),
        now=inp["now"],
        jti_source=(lambda: str(jti)) if jti else None,
        environ={},
        **credentials,
    )
