"""The public contract: __all__, lazy exports, the error tree, and a cheap ``import m2mauth``."""

from __future__ import annotations

import importlib
import os
import pickle
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import pytest

import m2mauth

ROOT = Path(__file__).resolve().parents[2]
#: Names DESIGN.md ("Public API") promises that the core already has.
CONTRACT = {
    "fetch_token",
    "inspect",
    "explain",
    "Token",
    "M2MAuthError",
    "ConfigError",
    "TokenEndpointError",
    "TransportError",
}
#: Names DESIGN.md promises for later work (token caching, device login, stores).
LATER = ("Auth", "session", "login", "logout", "MemoryStore", "FileStore", "RedisStore", "TokenSource")
HEAVY = ("requests", "cryptography", "jwt", "urllib3", "httpx")


def submodule_names() -> set[str]:
    return {info.name for info in pkgutil.iter_modules(m2mauth.__path__)}


def test_every_name_in_all_resolves() -> None:
    assert len(m2mauth.__all__) == len(set(m2mauth.__all__))
    for name in m2mauth.__all__:
        assert getattr(m2mauth, name) is not None, name
    namespace: dict[str, object] = {}
    exec("from m2mauth import *", namespace)
    assert set(m2mauth.__all__) <= set(namespace)


def test_contract_names_are_exported() -> None:
    assert set(m2mauth.__all__) >= CONTRACT
    assert "__version__" in m2mauth.__all__
    assert isinstance(m2mauth.__version__, str) and m2mauth.__version__.count(".") >= 2


def test_all_matches_the_lazy_export_table() -> None:
    exports = set(m2mauth._EXPORTS)
    assert exports == set(m2mauth.__all__) - {"__version__"}
    for name, module in m2mauth._EXPORTS.items():
        assert module.split(".")[0] in submodule_names(), (name, module)
        assert getattr(importlib.import_module(f"m2mauth.{module}"), name) is getattr(m2mauth, name)


def test_design_names_defined_in_the_package_are_exported() -> None:
    # DESIGN.md names that later work adds: once a module defines one, __all__ must carry it.
    package = Path(m2mauth.__file__).parent
    for name in LATER:
        pattern = re.compile(rf"^(class|def) {name}\b", re.MULTILINE)
        defined = [p for p in package.rglob("*.py") if pattern.search(p.read_text(encoding="utf-8"))]
        if defined:
            assert name in m2mauth.__all__, f"{name} is defined in {defined[0].name} but not exported"


def test_exported_objects_come_from_the_package() -> None:
    for name in set(m2mauth.__all__) - {"__version__"}:
        value = getattr(m2mauth, name)
        assert getattr(value, "__module__", "").startswith("m2mauth."), name


def test_public_dir_minus_submodules_is_all_for_exported_names() -> None:
    # Every exported name is listed by dir(); what else dir() lists is checked by the next test.
    public = {n for n in dir(m2mauth) if not n.startswith("_")} - submodule_names()
    assert set(m2mauth.__all__) - {"__version__"} <= public


def test_public_dir_minus_submodules_equals_all() -> None:
    public = sorted(n for n in dir(m2mauth) if not n.startswith("_"))
    # HttpxAuth is importable as m2mauth.HttpxAuth but deliberately outside __all__ (optional httpx extra);
    # once any test has touched it, the lazy attribute is cached in the module and shows up in dir().
    assert set(public) - submodule_names() - {"HttpxAuth"} == set(m2mauth.__all__) - {"__version__"}


def test_unknown_attribute() -> None:
    with pytest.raises(AttributeError):
        m2mauth.no_such_name  # noqa: B018


def test_error_tree() -> None:
    for cls in (m2mauth.ConfigError, m2mauth.TokenEndpointError, m2mauth.TransportError):
        assert issubclass(cls, m2mauth.M2MAuthError)
    assert issubclass(m2mauth.M2MAuthError, Exception)
    assert m2mauth.ConfigError("x").code == "config_error"
    assert m2mauth.TransportError("x").code == "transport_error"
    assert m2mauth.TokenEndpointError("x").code == "token_endpoint_error"
    assert m2mauth.TokenEndpointError("x", error="invalid_grant").code == "invalid_grant"
    err = m2mauth.ConfigError("message", code="c", hint="do this")
    assert str(err) == "message\nHint: do this"
    assert repr(err) == "ConfigError(code='c', message='message')"


def test_errors_pickle_with_code_and_hint() -> None:
    err = m2mauth.TokenEndpointError(
        "m", code="invalid_grant", hint="h", status=400, error="invalid_grant", error_description="d", url="u"
    )
    err.retry_after = "5"
    copy = pickle.loads(pickle.dumps(err))
    assert type(copy) is m2mauth.TokenEndpointError
    assert (copy.code, copy.hint, copy.status, copy.error, copy.error_description, copy.url, copy.retry_after) == (
        "invalid_grant",
        "h",
        400,
        "invalid_grant",
        "d",
        "u",
        "5",
    )
    assert str(copy) == str(err)


def _run(code: str, *flags: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "python")}
    return subprocess.run(
        [sys.executable, *flags, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, timeout=60
    )


def test_import_is_lazy_by_importtime() -> None:
    result = _run("import m2mauth", "-X", "importtime")
    assert result.returncode == 0, result.stderr
    names = [line.rsplit("|", 1)[1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")]
    assert "m2mauth" in names
    # Modules imported before site finished are the interpreter's own start-up.
    start = max(i for i, n in enumerate(names) if n == "site") + 1 if "site" in names else 0
    ours = names[start:]
    for name in ours:
        assert name.split(".")[0] not in HEAVY, f"import m2mauth imported {name}"


def test_import_is_lazy_by_sys_modules() -> None:
    code = "import sys; before = set(sys.modules); import m2mauth; print('\\n'.join(sorted(set(sys.modules) - before)))"
    result = _run(code)
    assert result.returncode == 0, result.stderr
    added = result.stdout.split()
    assert "m2mauth" in added
    assert not [m for m in added if m.split(".")[0] in HEAVY]
    # The first use of a name loads what it needs.
    result = _run("import sys, m2mauth; m2mauth.load_key; print('cryptography' in sys.modules)")
    assert result.stdout.strip() == "True"


def test_star_import_without_optional_extras() -> None:
    code = "import sys; sys.modules['httpx'] = None; sys.modules['redis'] = None; from m2mauth import *"
    result = _run(code)
    assert result.returncode == 0, result.stderr
