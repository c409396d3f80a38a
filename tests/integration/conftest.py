"""Fixtures for the integration tests.

The Authlib test-server fixtures live in ``conftest_authlib.py``; they are
re-exported here so pytest finds them.
"""

try:  # tests/integration as a package (an __init__.py exists)
    from .conftest_authlib import authlib_server, authlib_server_spec_keys  # type: ignore[import-not-found, unused-ignore]
except ImportError:  # rootdir-style import: this folder is on sys.path
    from conftest_authlib import (
        authlib_server,
        authlib_server_spec_keys,
    )

__all__ = ["authlib_server", "authlib_server_spec_keys"]
