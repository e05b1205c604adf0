"""Files the project generates from code (shipped tables, example records): written, or checked.

A generator script renders its file as text; ``--check`` then says whether the shipped copy
is still what the code makes, so a change of the code cannot leave a stale table behind.
"""

from __future__ import annotations

from pathlib import Path


def write_or_check(path: Path, text: str, check: bool, what: str = "") -> int:
    """Write ``text`` to ``path`` (exit status 0), or with ``check`` compare only (1 if it differs)."""
    if check:
        same = path.exists() and path.read_text(encoding="utf-8") == text
        print(f"{path}: {'up to date' if same else 'DIFFERS: run without --check to rewrite it'}")
        return 0 if same else 1
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path}{' (' + what + ')' if what else ''}")
    return 0
