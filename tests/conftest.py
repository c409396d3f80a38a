"""Suite-wide: no test writes to the real user's m2mauth folders.

Since issue 8, refresh tokens are kept by default in the user data folder (and access tokens
cached in the user cache folder). Every test gets its own ``M2MAUTH_HOME`` under its tmp_path,
inherited by the subprocesses it starts; a test that sets or removes ``M2MAUTH_HOME`` itself
(with monkeypatch) overrides this.
"""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _private_m2mauth_home(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("m2mauth-home")
    monkeypatch.setenv("M2MAUTH_HOME", str(home))
    return home
