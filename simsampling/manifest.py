"""What simsampling wrote into a folder: ``.simsampling-files``, so that ``--force`` replaces nothing else.

Every results folder lists its files there (written last, by report/folder.py), and
a file written beside them later (``simsampling animate``'s animation) is added to
the list. ``--force`` replaces a results folder only when the list names everything
in it, and a file only when the list beside it names the file. Kept apart from
report/ so that commands that write single files need not import the report package.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Optional

from . import __version__

MANIFEST = ".simsampling-files"
"""The list: JSON, ``written_by`` (the version) and ``files`` (relative POSIX paths)."""


def listed(folder: Path) -> Optional[set[str]]:
    """The paths the folder's list names (None: no readable list)."""
    try:
        return {str(name) for name in json.loads((Path(folder) / MANIFEST).read_text(encoding="utf-8"))["files"]}
    except (OSError, ValueError, KeyError, TypeError):
        return None


def contents(folder: Path) -> list[str]:
    """Every file and folder under ``folder``, as relative POSIX paths (symbolic links not followed)."""
    found = []
    for root, dirs, files in os.walk(folder):
        base = Path(root).relative_to(folder)
        found += [(base / name).as_posix() for name in sorted(dirs + files)]
    return sorted(found)


def write_list(folder: Path, files: list[str]) -> None:
    """The folder's list, naming ``files`` (replaced whole: a reader never sees half of it)."""
    folder = Path(folder)
    scratch = folder / f"{MANIFEST}.{os.getpid()}"
    record = {"written_by": f"simsampling {__version__}", "files": sorted(files)}
    scratch.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    os.replace(scratch, folder / MANIFEST)


def record_written(path: Path) -> None:
    """Add ``path``, a file simsampling is writing, to the list of its folder (made if there is none)."""
    path = Path(path)
    names = listed(path.parent) or set()
    if path.name not in names:
        write_list(path.parent, [*names, path.name])


def written_here(path: Path) -> bool:
    """Whether the list beside ``path`` names it: a file simsampling wrote, which ``--force`` may replace."""
    return Path(path).name in (listed(Path(path).parent) or set())
