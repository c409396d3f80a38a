"""Every task of the project: `nox -s demo` sets up and runs the demo; `nox` runs every test."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import nox

ROOT = Path(__file__).parent
nox.options.sessions = ["lint", "vectors", "tests_pyjwt_floor", "tests", "r", "r_current"]
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
    session.run("mypy", "--strict", "python/m2mauth", "spec/verify/verify_vectors.py", "spec/verify/vectorcheck")


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
PYJWT_TESTS = [f"tests/python/test_{name}.py" for name in ("jws", "keys", "key_signing", "key_pickling",
                                                            "service_keys", "assertions", "pyjwt_backend",
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


# -- R ------------------------------------------------------------------------------------------
# Two stacks on every run: `r` on Debian's httr2 0.2.2 / reticulate 1.28 (the oldest supported),
# `r_current` on current CRAN releases installed once into a cached private library.

R_LIB = ROOT / ".nox" / "r-lib"
R_CURRENT_LIB = ROOT / ".nox" / "r-current-lib"  # the current stack's packages, cached between runs
R_CURRENT_PKG = ROOT / ".nox" / "r-current-pkg"  # m2mauth itself, reinstalled on every run
R_CURRENT_SOURCES = ROOT.parent / "shared" / "r-current"
# Install order matters: each needs the ones before it.
R_CURRENT = [("rlang", "1.3.0"), ("vctrs", "0.7.3"), ("curl", "7.0.1"), ("httr2", "1.3.0"), ("reticulate", "1.46.0")]
CRAN = "https://cloud.r-project.org"


def _r_env(session: nox.Session, libs: list[Path] | None = None) -> dict[str, str]:
    venv = Path(session.virtualenv.location)
    return {
        "M2MAUTH_PYTHON": str(venv / "bin" / "python"),
        "R_LIBS": os.pathsep.join(str(lib) for lib in (libs or [R_LIB])),
        "M2MAUTH_REPO": str(ROOT),
        "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
    }


def _r_build(session: nox.Session) -> Path:
    """dist/m2mauth_<version>.tar.gz with the Python core bundled in inst/python/ (made from python/, spec/)."""
    session.install("hatchling")  # the core's build backend, so the wheel is built without a download
    session.run("python", "python/tools/build_r_package.py", "--out", str(ROOT / "dist"), silent=True)
    tarballs = sorted((ROOT / "dist").glob("m2mauth_*.tar.gz"), key=lambda path: path.stat().st_mtime)
    return tarballs[-1]


def _r_install(
    session: nox.Session, lib: Path = R_LIB, libs: list[Path] | None = None, source: str = "r-package"
) -> None:
    lib.mkdir(parents=True, exist_ok=True)
    env = {"R_LIBS": os.pathsep.join(str(p) for p in (libs or [lib]))}
    session.run("R", "CMD", "INSTALL", "--no-multiarch", "-l", str(lib), source, external=True, silent=True, env=env)


def _r_installed_version(lib: Path, package: str) -> str | None:
    description = lib / package / "DESCRIPTION"
    if not description.is_file():
        return None
    for line in description.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("Version:"):
            return line.split(":", 1)[1].strip()
    return None


def _r_cran_tarball(package: str, version: str, into: Path) -> Path | None:
    """The CRAN source tarball of exactly this version (current or archived), or None when unreachable."""
    import urllib.error
    import urllib.request

    name = f"{package}_{version}.tar.gz"
    into.mkdir(parents=True, exist_ok=True)
    for url in (f"{CRAN}/src/contrib/{name}", f"{CRAN}/src/contrib/Archive/{package}/{name}"):
        try:
            with urllib.request.urlopen(url, timeout=20) as answer:  # noqa: S310 - a fixed https URL
                (into / name).write_bytes(answer.read())
            return into / name
        except (urllib.error.URLError, OSError, TimeoutError):
            continue
    return None


def _r_current_stack(session: nox.Session) -> None:
    """Install the current stack into R_CURRENT_LIB, skipping what is already there in the right version."""
    R_CURRENT_LIB.mkdir(parents=True, exist_ok=True)
    for package, version in R_CURRENT:
        if _r_installed_version(R_CURRENT_LIB, package) == version:
            continue
        tarball = R_CURRENT_SOURCES / f"{package}_{version}.tar.gz"
        if not tarball.is_file():
            fetched = _r_cran_tarball(package, version, ROOT / ".nox" / "r-current-src")
            if fetched is None:
                session.skip(
                    f"r_current: {tarball} is missing and CRAN ({CRAN}) cannot be reached: "
                    "the current R stack is not tested on this machine"
                )
            tarball = fetched
        session.log(f"r_current: installing {package} {version} into {R_CURRENT_LIB}")
        session.run(
            "R",
            "CMD",
            "INSTALL",
            "--no-multiarch",
            "--no-docs",
            "--no-html",
            "-l",
            str(R_CURRENT_LIB),
            str(tarball),
            external=True,
            silent=True,
            env={"MAKEFLAGS": "-j2", "R_LIBS": str(R_CURRENT_LIB)},
        )


def _r_tests(session: nox.Session, libs: list[Path], tarball: Path) -> None:
    env = {**_r_env(session, libs), "M2MAUTH_R_TARBALL": str(tarball)}
    session.run(
        "Rscript",
        "-e",
        "cat('R stack: httr2', format(packageVersion('httr2')), "
        "'reticulate', format(packageVersion('reticulate')), '\\n')",
        env=env,
        external=True,
    )
    session.run("Rscript", "r-package/tests/run-tests.R", env=env, external=True)
    if (ROOT / "tests" / "r").is_dir() and any((ROOT / "tests" / "r").glob("test_*.py")):
        session.install("rpy2==3.5.17")
        session.run("pytest", "-p", "no:randomly", "tests/r", env=env)


def _r_check(session: nox.Session, tarball: Path, libs: list[Path], name: str) -> None:
    """R CMD check --no-manual of the built tarball on this stack; any ERROR or WARNING fails."""
    out = ROOT / ".nox" / f"{name}-check"
    out.mkdir(parents=True, exist_ok=True)
    env = {"R_LIBS": os.pathsep.join(str(lib) for lib in libs), "_R_CHECK_FORCE_SUGGESTS_": "false"}
    session.run(
        "R", "CMD", "check", "--no-manual", f"--output={out}", str(tarball), env=env, external=True, silent=True
    )
    log = (out / "m2mauth.Rcheck" / "00check.log").read_text(encoding="utf-8", errors="replace")
    problems = [line for line in log.splitlines() if line.endswith(("WARNING", "ERROR"))]
    if problems:
        session.error(f"R CMD check ({name}): " + "; ".join(problems) + f" (see {out}/m2mauth.Rcheck/00check.log)")
    session.log(f"R CMD check ({name}): {log.strip().splitlines()[-1]}")


def _r_preflight(session: nox.Session) -> None:
    if not (ROOT / "r-package" / "DESCRIPTION").exists():
        session.skip("no R package yet")
    if not shutil.which("Rscript"):
        session.error("Rscript not found: install r-base-core and the r-cran-* packages (see README)")


@nox.session
def r(session: nox.Session) -> None:
    """The R package on Debian's httr2 and reticulate (the oldest supported): testthat, rpy2 tests, R CMD check."""
    _r_preflight(session)
    _install(session)
    tarball = _r_build(session)
    _r_install(session, source=str(tarball))
    _r_tests(session, [R_LIB], tarball)
    _r_check(session, tarball, [R_LIB], "r")


@nox.session
def r_current(session: nox.Session) -> None:
    """The R package on current CRAN httr2 and reticulate (../shared/r-current, cached in .nox/)."""
    _r_preflight(session)
    _install(session)
    _r_current_stack(session)
    libs = [R_CURRENT_PKG, R_CURRENT_LIB]
    tarball = _r_build(session)
    _r_install(session, R_CURRENT_PKG, libs, source=str(tarball))
    _r_tests(session, libs, tarball)
    _r_check(session, tarball, [R_CURRENT_LIB], "r_current")


@nox.session
def r_build(session: nox.Session) -> None:
    """Build the R package with the Python core inside: dist/m2mauth_<version>.tar.gz."""
    _r_preflight(session)
    session.log(f"wrote {_r_build(session)}")
