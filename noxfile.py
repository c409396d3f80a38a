"""Every task of the project: `nox -s demo` sets up and runs the demo; `nox` runs every test."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import nox

ROOT = Path(__file__).parent
nox.options.sessions = ["lint", "vectors", "tests_pyjwt_floor", "tests", "r"]
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = True

TEST_DEPS = [".[test]"]


def _install(session: nox.Session, *extra: str) -> None:
    session.install("-e", ".[test]", *extra)


@nox.session
def tests(session: nox.Session) -> None:
    """Python unit, vector, integration and property tests."""
    _install(session)
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff over everything, mypy --strict over the package and tools."""
    _install(session, "ruff", "mypy", "types-requests")
    session.run("ruff", "check", "python", "tests", "spec/verify", "noxfile.py")
    session.run("mypy", "--strict", "python/m2mauth", "spec/verify/verify_vectors.py")


@nox.session
def vectors(session: nox.Session) -> None:
    """Regenerate the vectors from the core and fail on drift; verify them independently."""
    _install(session)
    session.run("python", "python/tools/gen_vectors.py", "--check")
    session.run("python", "spec/verify/verify_vectors.py")
    session.run("python", "python/tools/gen_r_bindings.py", "--check")


#: The lowest PyJWT m2mauth supports; pyproject.toml's "pyjwt>=" says the same (a test checks).
PYJWT_FLOOR = "2.10.1"
#: The pure layer: what PyJWT's algorithm objects and JWK conversion reach (seconds, no servers).
PYJWT_TESTS = [f"tests/python/test_{name}.py" for name in ("jws", "keys", "assertions", "pyjwt_backend",
                                                            "client_auth", "grants")]  # fmt: skip


@nox.session
@nox.parametrize("pyjwt", [PYJWT_FLOOR, "newest"])
def tests_pyjwt_floor(session: nox.Session, pyjwt: str) -> None:
    """Pure-layer tests and vectors on the PyJWT floor and on the newest PyJWT release."""
    session.install("-e", ".", "pytest", "hypothesis")
    if pyjwt == "newest":
        session.install("--upgrade", "pyjwt")
    else:
        session.install(f"pyjwt=={pyjwt}")
    session.run("python", "-c", "import jwt; print('PyJWT', jwt.__version__)")
    session.run("pytest", "-q", "-p", "no:randomly", *PYJWT_TESTS, *session.posargs)
    session.run("python", "python/tools/gen_vectors.py", "--check")
    session.run("python", "spec/verify/verify_vectors.py")


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks as ratios against baselines run side by side; writes tests/benchmarks/RESULTS.md.

    Not a default session: it takes minutes and wants a quiet machine (`nox -s bench -- --quick`).
    """
    _install(session, "requests-oauthlib>=2")
    session.run("python", "tests/benchmarks/run.py", *session.posargs)


@nox.session
def demo(session: nox.Session) -> None:
    """The CLMS flow end to end against the local provider, then the two classic mistakes diagnosed."""
    session.install("-e", ".")  # the package's own dependencies only: the demo needs no test extras (dask...)
    session.run("python", "-m", "m2mauth.demo")
    if shutil.which("Rscript") and (ROOT / "r-package" / "DESCRIPTION").exists():
        _r_install(session)
        session.run("Rscript", "r-package/inst/demo/clms-demo.R", env=_r_env(session), external=True)


def _r_env(session: nox.Session) -> dict[str, str]:
    venv = Path(session.virtualenv.location)
    lib = ROOT / ".nox" / "r-lib"
    return {
        "M2MAUTH_PYTHON": str(venv / "bin" / "python"),
        "R_LIBS": str(lib),
        "M2MAUTH_REPO": str(ROOT),
        "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
    }


def _r_install(session: nox.Session) -> None:
    lib = ROOT / ".nox" / "r-lib"
    lib.mkdir(parents=True, exist_ok=True)
    session.run("R", "CMD", "INSTALL", "--no-multiarch", "-l", str(lib), "r-package", external=True, silent=True)


@nox.session
def r(session: nox.Session) -> None:
    """The R package: testthat through Rscript, and rpy2 tests from pytest."""
    if not (ROOT / "r-package" / "DESCRIPTION").exists():
        session.skip("no R package yet")
    if not shutil.which("Rscript"):
        session.error("Rscript not found: install r-base-core and the r-cran-* packages (see README)")
    _install(session)
    _r_install(session)
    session.run("Rscript", "r-package/tests/run-tests.R", env=_r_env(session), external=True)
    if (ROOT / "tests" / "r").is_dir() and any((ROOT / "tests" / "r").glob("test_*.py")):
        session.install("rpy2==3.5.17")
        session.run("pytest", "tests/r", env=_r_env(session))
