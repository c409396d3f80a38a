"""The demo runs and prints no secret; the wheel carries the spec's profiles and vectors."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_demo_shows_the_flow_and_both_mistakes() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "python")}
    done = subprocess.run([sys.executable, "-m", "m2mauth.demo"], capture_output=True, text=True, timeout=120,
                          env=env, check=False)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "HTTP 200" in out
    assert "Only RS256 signature algorithm is supported" in out and "hmac_instead_of_rsa" in out
    assert "Missing 'grant_type'" in out and "body_not_form_encoded" in out
    assert "key_algorithm_mismatch" in out
    assert "PRIVATE KEY" not in out + done.stderr
    # No compact JWS with its signature: every printed grant is redacted.
    assert not re.search(r"eyJ[\w-]+\.eyJ[\w-]+\.[\w-]{20,}", out)


# The test extras (and pytest itself): what `nox -s demo` must not need to install.
TEST_ONLY = ("dask", "distributed", "authlib", "flask", "httpx", "redis", "hypothesis", "jsonschema", "pytest")
BLOCK_TEST_ONLY = """
import importlib.abc, runpy, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {blocked!r}:
            raise ImportError("the demo must not need " + name)
        return None
sys.meta_path.insert(0, Block())
runpy.run_module("m2mauth.demo", run_name="__main__")
"""


def test_demo_runs_without_the_test_extras() -> None:
    code = BLOCK_TEST_ONLY.format(blocked=TEST_ONLY)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "python")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert "HTTP 200" in done.stdout


def test_nox_demo_session_installs_the_package_without_extras() -> None:
    """`nox -s demo` installs the package with its own dependencies only (not `.[test]`, which pulls
    dask, flask, redis...). Read from noxfile.py's syntax tree: nox itself is not in the test venv."""
    tree = ast.parse((ROOT / "noxfile.py").read_text(encoding="utf-8"))
    demo = next(node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == "demo")
    calls = [node for node in ast.walk(demo) if isinstance(node, ast.Call)]
    called = {ast.unparse(call.func) for call in calls}
    assert "_install" not in called  # the helper installs ".[test]"
    installs = [call for call in calls if ast.unparse(call.func) == "session.install"]
    assert installs, "the demo session installs nothing?"
    for call in installs:
        arguments = [ast.literal_eval(arg) for arg in call.args]
        assert all(isinstance(a, str) and "[" not in a for a in arguments), arguments
        assert not [a for a in arguments if a.split("[")[0].split(">")[0].split("=")[0] in TEST_ONLY], arguments


@pytest.mark.slow
def test_wheel_ships_profiles_and_vectors(tmp_path: Path) -> None:
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                            str(tmp_path), str(ROOT)], capture_output=True, text=True, timeout=300, check=False)
    if built.returncode != 0 and "hatchling" in built.stderr:
        built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path),
                                str(ROOT)], capture_output=True, text=True, timeout=300, check=False)
    assert built.returncode == 0, built.stderr
    wheel = next(tmp_path.glob("m2mauth-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "m2mauth/_spec/profiles/clms.json" in names
    assert "m2mauth/py.typed" in names
    assert any(n.startswith("m2mauth/_spec/vectors/published/") for n in names)
    pem_body = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----\s*[A-Za-z0-9+/]{40}")
    assert not any(pem_body.search(zipfile.ZipFile(wheel).read(n).decode("latin-1")) for n in names)
    unpacked = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(unpacked)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    code = ("import m2mauth, m2mauth.profiles as p; "
            "print(sorted(m2mauth.list_profiles())); print(p.spec_path('profiles').parent.name)")
    ran = subprocess.run([sys.executable, "-c", code], cwd=elsewhere, capture_output=True, text=True, timeout=60,
                         env={**os.environ, "PYTHONPATH": str(unpacked)}, check=False)
    assert ran.returncode == 0, ran.stderr
    assert "'clms'" in ran.stdout and "'generic'" in ran.stdout
    assert ran.stdout.strip().endswith("_spec")
