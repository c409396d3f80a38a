"""The one exception of the checker: a failed check, tagged with its stage."""

from __future__ import annotations


class VectorError(Exception):
    """A check that failed; carries the stage it belongs to."""

    def __init__(self, stage: str, message: str) -> None:
        super().__init__(f"[{stage}] {message}")
        self.stage = stage
        self.message = message
