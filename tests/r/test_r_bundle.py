"""The Python core bundled in the R package (r-package/inst/python/) is python/ and spec/ as they are.

python/tools/build_r_package.py writes it (nox -s r_build, and the r / r_current sessions before
they install the package); it is generated, git-ignored and never edited by hand.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from .conftest import ROOT

TOOL = ROOT / "python" / "tools" / "build_r_package.py"
BUNDLE = ROOT / "r-package" / "inst" / "python"


def tool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(TOOL), *args], capture_output=True, text=True, timeout=600, check=False)


@pytest.fixture(scope="module")
def fresh_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("bundle") / "python"
    done = tool("--bundle-only", "--bundle", str(target))
    assert done.returncode == 0, done.stdout + done.stderr
    return target


def test_a_fresh_bundle_holds_the_sources_and_passes_the_check(fresh_bundle: Path) -> None:
    wheels = list(fresh_bundle.glob("m2mauth-*.whl"))
    assert len(wheels) == 1
    import m2mauth

    assert wheels[0].name.startswith(f"m2mauth-{m2mauth.__version__}-")
    with zipfile.ZipFile(wheels[0]) as wheel:
        names = set(wheel.namelist())
    assert "m2mauth/__init__.py" in names
    assert "m2mauth/_spec/profiles/clms.json" in names
    assert not any("__pycache__" in name for name in names)
    done = tool("--check", "--bundle", str(fresh_bundle))
    assert done.returncode == 0, done.stdout


def test_the_check_fails_on_a_changed_file_and_on_an_extra_one(fresh_bundle: Path, tmp_path: Path) -> None:
    edited = tmp_path / "python"
    shutil.copytree(fresh_bundle, edited)
    wheel = next(edited.glob("m2mauth-*.whl"))
    with zipfile.ZipFile(wheel) as original:
        members = {name: original.read(name) for name in original.namelist()}
    members["m2mauth/__init__.py"] += b"# a hand edit\n"
    members["m2mauth/stray.py"] = b""
    with zipfile.ZipFile(wheel, "w") as rewritten:
        for name, data in members.items():
            rewritten.writestr(name, data)
    done = tool("--check", "--bundle", str(edited))
    assert done.returncode == 1
    assert "DRIFT m2mauth/__init__.py: differs from python/m2mauth/__init__.py" in done.stdout
    assert "DRIFT m2mauth/stray.py: in the bundled wheel but not in the sources" in done.stdout
    assert "nox -s r_build" in done.stdout


def test_the_check_fails_when_nothing_is_bundled(tmp_path: Path) -> None:
    done = tool("--check", "--bundle", str(tmp_path))
    assert done.returncode == 1
    assert "expected one m2mauth wheel" in done.stdout


def test_the_bundle_in_the_work_tree_has_not_drifted() -> None:
    """What R CMD INSTALL r-package and R CMD build ship today (nox regenerates it before the R tests)."""
    if not BUNDLE.exists():
        pytest.skip("r-package/inst/python/ is not generated in this work tree (nox -s r_build writes it)")
    done = tool("--check")
    assert done.returncode == 0, done.stdout


def test_the_bundle_is_git_ignored() -> None:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    done = subprocess.run(
        ["git", "check-ignore", "-q", "r-package/inst/python/m2mauth-0.1.0-py3-none-any.whl"],
        cwd=ROOT,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0
