"""Problems with a planner's input, reported as file:line: field: what is wrong."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True)
class Problem:
    file: str
    line: Optional[int]
    field: str
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        text = f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        return printable(text)


def printable(text: str) -> str:
    """One line of plain text: line breaks, escape sequences, bidirectional overrides and other
    control or format characters shown escaped (``\\x1b``, ``\\u202e``); spaces of any script kept."""
    return "".join(c if c.isprintable() or unicodedata.category(c) == "Zs" else repr(c)[1:-1] for c in text)


def dotted(path: tuple) -> str:
    """A field path as written in messages: ``points[0].stages.swab.servers``."""
    text = ""
    for key in path:
        text += f"[{key}]" if isinstance(key, int) else (f".{key}" if text else str(key))
    return text


class ScenarioError(Exception):
    """A scenario that cannot be run; carries every problem found, one per line."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))
