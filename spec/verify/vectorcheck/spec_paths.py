"""Where the spec's vectors and schemas live, relative to this checker."""

from __future__ import annotations

from pathlib import Path

SPEC_DIR = Path(__file__).resolve().parent.parent.parent
VECTORS_DIR = SPEC_DIR / "vectors"
VECTORS_SCHEMA = "vectors.schema.json"
