"""From the built R package alone to a token: no checkout, no M2MAUTH_PYTHON, no release on PyPI.

A person with only ``m2mauth_<version>.tar.gz`` (from ``nox -s r_build``), R and a Python runs
``install.packages(tarball, repos = NULL)``, ``m2mauth::install_m2mauth()``, ``library(m2mauth)``
and ``m2m_token(...)``. Here: a temporary R library and virtualenv root (WORKON_HOME), the work
folder outside the checkout, no path into the checkout in the environment (PATH, PYTHONPATH,
R_LIBS), and a token from the local provider on 127.0.0.1. pip reaches PyPI (or its cache) only
for the core's dependencies; the core itself comes from the wheel inside the tarball.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from .conftest import ROOT, r_env, require_rscript, run_r

TOOL = ROOT / "python" / "tools" / "build_r_package.py"
INSTALL_TIMEOUT = 900


def built_tarball(tmp_path: Path) -> Path:
    """The tarball the nox session built (M2MAUTH_R_TARBALL), else one built here the same way."""
    given = os.environ.get("M2MAUTH_R_TARBALL")
    if given:
        return Path(given)
    done = subprocess.run(
        [sys.executable, str(TOOL), "--out", str(tmp_path / "dist")],
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return Path(done.stdout.strip().splitlines()[-1])


def outside_checkout(value: str) -> str:
    """A PATH-like value without the entries inside the checkout."""
    keep = [entry for entry in value.split(os.pathsep) if entry and not Path(entry).resolve().is_relative_to(ROOT)]
    return os.pathsep.join(keep)


def libraries_without_m2mauth(value: str) -> str:
    """R library folders without an m2mauth in them: the R packages m2mauth needs (Debian's, or the
    current stack's cached by nox under .nox/r-current-lib) stay reachable, no copy of m2mauth does."""
    keep = [entry for entry in value.split(os.pathsep) if entry and not (Path(entry) / "m2mauth").exists()]
    return os.pathsep.join(keep)


def user_env(home: Path, lib: Path) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("M2MAUTH_", "RETICULATE_", "PYTHON", "R_LIBS", "VIRTUAL_ENV", "NOX"))
        and name != "LD_LIBRARY_PATH"
    }
    env["R_LIBS"] = os.pathsep.join(filter(None, [str(lib), libraries_without_m2mauth(os.environ.get("R_LIBS", ""))]))
    env["PATH"] = outside_checkout(os.environ.get("PATH", ""))
    env["WORKON_HOME"] = str(home / "virtualenvs")
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def test_a_token_from_the_built_tarball_alone(tmp_path: Path, local_provider: Any, service_key_file: Path) -> None:
    rscript = require_rscript()
    tarball = built_tarball(tmp_path)
    user = tmp_path / "user"
    user.mkdir()
    copied = user / tarball.name
    shutil.copy2(tarball, copied)
    key = user / "land-copernicus.json"
    shutil.copy2(service_key_file, key)
    lib = user / "R-library"
    lib.mkdir()
    env = user_env(user, lib)
    assert str(ROOT) not in env["PATH"]
    code = f"""
    install.packages({json.dumps(copied.name)}, repos = NULL, type = "source", lib = {json.dumps(str(lib))})
    m2mauth::install_m2mauth()
    library(m2mauth)
    token <- m2m_token("clms", service_key = {json.dumps(key.name)})
    cat("M2MAUTH-RESULT", jsonlite::toJSON(list(
      ok = nzchar(token$access_token),
      bundled = m2mauth:::bundled_core(),
      python = reticulate::py_config()$python,
      core = m2mauth:::py_attr(m2mauth:::core(), "__file__"),
      version = m2mauth:::py_attr(m2mauth:::core(), "__version__"),
      reticulate = format(packageVersion("reticulate")),
      m2mauth_lib = dirname(find.package("m2mauth"))
    ), auto_unbox = TRUE), "\\n")
    """
    done = subprocess.run(
        [rscript, "--vanilla", "-e", code],
        cwd=user,
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT,
        env=env,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    lines = [line for line in done.stdout.splitlines() if line.startswith("M2MAUTH-RESULT ")]
    assert lines, output
    result = json.loads(lines[-1].split(" ", 1)[1])
    assert result["ok"] is True
    venvs = str(user / "virtualenvs" / "r-m2mauth")
    # The core came from the wheel inside the installed tarball, into the r-m2mauth virtualenv.
    assert result["bundled"].startswith(str(lib / "m2mauth" / "python"))
    assert Path(result["bundled"]).name in output  # pip's log names the bundled wheel it installed
    assert result["python"].startswith(venvs)
    assert result["core"].startswith(venvs)
    assert str(ROOT) not in result["core"]
    assert result["version"] == tarball.name.split("_")[1].removesuffix(".tar.gz")
    assert result["m2mauth_lib"] == str(lib)
    # The same R stack as the session under test (Debian's, or the current one for r_current).
    stack = run_r("cat('RETICULATE', format(packageVersion('reticulate')))", env=r_env())
    assert f"RETICULATE {result['reticulate']}" in stack
    assert local_provider.token_requests("clms") == 1
