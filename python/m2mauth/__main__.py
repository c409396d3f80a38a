"""``python -m m2mauth``: the command line (see :mod:`m2mauth.cli`)."""

from __future__ import annotations

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
