"""What the checks of one test need from its group."""

from __future__ import annotations

from dataclasses import dataclass

from vectorcheck.document import JsonObject
from vectorcheck.errors import VectorError
from vectorcheck.keys import LoadedKey


@dataclass
class GroupContext:
    """What the checks of one test need from its group."""

    group: JsonObject
    key: LoadedKey | None
    key_error: VectorError | None

    @property
    def type(self) -> str:
        return str(self.group.get("type", ""))
