"""The demo runs and prints no secret; the wheel carries the spec's profiles and vectors."""

from __future__ import annotations

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
