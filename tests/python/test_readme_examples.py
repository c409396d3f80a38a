"""The README's marked examples run as written, and its table of the local provider's test
credentials matches what ``python -m m2mauth.testing`` registers (read from README.md itself, so
the two cannot drift)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from m2mauth.testing import LocalProvider
from m2mauth.testing.__main__ import _register_demo_credentials

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
EXAMPLE = re.compile(r"<!-- readme-example:[^>]*-->\n```python\n(.*?)\n```", re.DOTALL)
EXAMPLES = EXAMPLE.findall(README)


def test_the_marked_examples_include_build_request_and_the_local_provider() -> None:
    assert any("build_request(" in code and ".redacted()" in code for code in EXAMPLES)
    assert any("LocalProvider(" in code for code in EXAMPLES)


@pytest.mark.parametrize("code", EXAMPLES, ids=[f"example{i}" for i in range(len(EXAMPLES))])
def test_readme_example_runs(code: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("M2MAUTH_")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT / "python"), env.get("PYTHONPATH")) if p)
    env["M2MAUTH_HOME"] = str(tmp_path / "home")
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "not-a-real-secret" not in done.stdout + done.stderr


def readme_credentials_table() -> dict[str, set[str]]:
    section = README.split("<!-- credentials-table:", 1)[1].split("\n\n", 1)[0]
    rows: dict[str, set[str]] = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`"):
            rows[cells[0].strip("`")] = set(re.findall(r"`([a-z_]+)`", cells[1]))
    return rows


def test_readme_lists_the_test_credentials_the_server_registers() -> None:
    with LocalProvider() as provider:
        registered = _register_demo_credentials(provider)
    table = readme_credentials_table()
    assert set(table) == set(registered) | {"clms"}
    assert table.pop("clms") == {"service_key_file"}
    assert table == {profile: set(members) for profile, members in registered.items()}
