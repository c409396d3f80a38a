"""The token store a command uses, and the labels that say which profile and flow a stored token
belongs to (the store's own file names are digests)."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from .common import LABELS_FILE


def open_store(args: argparse.Namespace) -> Any:
    from ..stores import FileStore, MemoryStore

    if getattr(args, "no_store", False):
        return MemoryStore()
    return FileStore(args.store) if getattr(args, "store", None) else FileStore()


def _labels_path(store: Any) -> Path:
    return Path(store.path) / LABELS_FILE


def read_labels(store: Any) -> dict[str, dict[str, str]]:
    try:
        data = json.loads(_labels_path(store).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):  # RecursionError: deeply nested JSON
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, dict)}


def remember_label(store: Any, key: str, profile: str, flow: str) -> None:
    """Note which profile and flow a stored token belongs to (the store's file names are digests).

    Best effort: a lost label only makes ``status`` show '?' for that token.
    """
    from ..stores import FileStore, _file_name

    if not isinstance(store, FileStore):
        return
    labels = read_labels(store)
    labels[_file_name(key)] = {"profile": profile, "flow": flow}
    with contextlib.suppress(OSError):
        store.path.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-labels-", suffix=".json", dir=store.path)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(labels, handle, indent=1, sort_keys=True)
            os.chmod(tmp, 0o600)
            os.replace(tmp, _labels_path(store))
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
