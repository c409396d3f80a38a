"""Fixtures for the R package's tests driven from Python (``nox -s r`` runs ``pytest tests/r``).

Two ways into R, chosen by what is safe with Debian's reticulate 1.28:

* in-process, through rpy2 (pinned to 3.5.17 for R 4.2), for R code that never starts Python:
  loading the package, the openssl vector replay, conditions, print methods, argument checks.
  R embedded in Python must not call back into Python through reticulate < 1.31: it crashes at
  the next R garbage collection;
* a subprocess ``Rscript`` for the round trips into the Python core.

Environment (as nox's ``_r_env`` sets it): ``R_LIBS`` holds the installed R package,
``M2MAUTH_PYTHON`` a Python with the core (default: this interpreter), ``M2MAUTH_REPO`` the repo.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "spec"
R_TESTS = ROOT / "r-package" / "tests" / "testthat"
SEED_GRANT = (R_TESTS / "fixtures" / "clms-seed-grant.txt").read_text(encoding="ascii").strip()
RSCRIPT = shutil.which("Rscript")
SUBPROCESS_TIMEOUT = 180


def require_rscript() -> str:
    if RSCRIPT is None:
        pytest.skip("Rscript not found: install r-base-core and the r-cran-* packages (see README)")
    return RSCRIPT


def r_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("M2MAUTH_PYTHON", sys.executable)
    env.setdefault("M2MAUTH_REPO", str(ROOT))
    env.update(extra)
    return env


def run_r(code: str, *, env: dict[str, str] | None = None, timeout: float = SUBPROCESS_TIMEOUT) -> str:
    """Run R code in a fresh ``Rscript``; return its output, failing the test on a non-zero exit."""
    rscript = require_rscript()
    done = subprocess.run(
        [rscript, "--vanilla", "-e", code],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env or r_env(),
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"Rscript exited {done.returncode}:\n{output}"
    return output


def r_json(code: str, **kwargs: Any) -> Any:
    """Run R code whose last output line is JSON (written with jsonlite) and parse that line."""
    output = run_r(code, **kwargs)
    lines = [line for line in output.splitlines() if line.startswith(("{", "["))]
    assert lines, f"no JSON line in the R output:\n{output}"
    return json.loads(lines[-1])


@pytest.fixture(scope="session")
def rscript() -> str:
    return require_rscript()


@pytest.fixture(scope="session")
def installed_r_package(rscript: str) -> None:
    done = subprocess.run(
        [rscript, "--vanilla", "-e", 'cat(requireNamespace("m2mauth", quietly = TRUE))'],
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT,
        env=r_env(),
        check=False,
    )
    if done.stdout.strip() != "TRUE":
        pytest.skip("the R package m2mauth is not installed where R_LIBS points (R CMD INSTALL -l <lib> r-package)")


@pytest.fixture(scope="session")
def r(installed_r_package: None) -> Any:
    """R embedded in this process by rpy2, with library(m2mauth) loaded (Python not started)."""
    try:
        import rpy2.robjects as robjects  # type: ignore[import-untyped]
    except ImportError as exc:  # pragma: no cover - depends on the environment
        pytest.skip(f"rpy2 is not importable ({exc}): pip install rpy2==3.5.17 in a fresh venv")
    os.environ.setdefault("M2MAUTH_REPO", str(ROOT))
    robjects.r("suppressPackageStartupMessages(library(m2mauth))")
    return robjects.r


@pytest.fixture()
def local_provider() -> Iterator[Any]:
    """The core's local token server in this process (a thread on 127.0.0.1), for R subprocesses."""
    from m2mauth.testing import LocalProvider

    with LocalProvider(token_lifetime=600) as provider:
        yield provider


@pytest.fixture()
def service_key_file(local_provider: Any, tmp_path: Path) -> Path:
    path = tmp_path / "land-copernicus.json"
    path.write_text(json.dumps(local_provider.make_clms_service_key()), encoding="utf-8")
    path.chmod(0o600)
    return path


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "python_in_r: the test lets R start Python inside this process")
