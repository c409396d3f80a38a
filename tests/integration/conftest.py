"""Fixtures for the integration tests.

The Authlib test-server fixtures live in ``conftest_authlib.py``, the local provider and the in-process
CLI runner (``provider``, ``run``) in ``conftest_local.py``, the lifecycle tests' provider factory and
worker-process context (``lifecycle_provider``, ``mp``) in ``conftest_lifecycle.py``; they are re-exported
here so pytest finds them.
"""

try:  # tests/integration as a package (an __init__.py exists)
    from .conftest_authlib import authlib_server, authlib_server_spec_keys  # type: ignore[import-not-found, unused-ignore]
    from .conftest_lifecycle import lifecycle_provider, mp  # type: ignore[import-not-found, unused-ignore]
    from .conftest_local import provider, run  # type: ignore[import-not-found, unused-ignore]
except ImportError:  # rootdir-style import: this folder is on sys.path
    from conftest_authlib import (
        authlib_server,
        authlib_server_spec_keys,
    )
    from conftest_lifecycle import lifecycle_provider, mp
    from conftest_local import provider, run

__all__ = ["authlib_server", "authlib_server_spec_keys", "lifecycle_provider", "mp", "provider", "run"]
