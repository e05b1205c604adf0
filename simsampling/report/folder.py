"""A results folder that appears whole or not at all, and never replaces what it did not write.

Files are written into a hidden temporary folder beside the target, which is
renamed into place only when everything is written; the folder then lists what
it holds in ``.simsampling-files`` (manifest.py). An interrupted run removes
its temporary folder, and a run killed outright leaves one that the next run into
the same place removes (``leftovers.py``). An existing non-empty target is refused
unless forced, and ``--force`` replaces only a folder simsampling wrote: its
summary.json and manifest present, and nothing in it the manifest does not list.
A failure to write (disk full, read-only drive) leaves nothing behind and is
raised as :class:`WriteError`, naming the target.

A resumable job (a sweep) keeps a persistent ``.<name>.partial`` folder instead
(:func:`partial_folder`), promoted the same way once complete.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import unicodedata
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Iterator, Optional

from ..leftovers import make_scratch_folder, remove, stale
from ..manifest import MANIFEST, contents, listed, write_list

SUMMARY = "summary.json"
_UMASK = os.umask(0o022)
os.umask(_UMASK)  # read at import (no threads of ours yet): Python has no call that only reads it
FOLDER_MODE = 0o777 & ~_UMASK
"""A results folder's permissions: as ``mkdir`` would give it (the scratch it was made as is private to its owner,
and a colleague on a shared server could not open its report)."""
SCRATCH_KINDS = ("partial", "persons", "old")
"""Hidden scratch folders beside a target: ``.<name>.<kind>-<pid>@<host>-<random>``."""
SCRATCH = re.compile(rf"\.(?P<name>.+)\.(?P<kind>{'|'.join(SCRATCH_KINDS)})-(?=\d+@[A-Za-z0-9.]*-[a-z0-9_]+$)")
"""The name of any target's scratch folder up to its maker's process id (the rest as ``mkdtemp`` makes it)."""


class ResultsExistError(Exception):
    """The chosen results folder cannot be used: it holds results (or other files), or cannot be replaced."""


class WriteError(OSError):
    """The results could not be written to ``filename`` (the target): ``strerror`` gives the cause and says that
    nothing was left behind."""

    def __init__(self, target: Path, cause: OSError):
        super().__init__(cause.errno, f"{cause.strerror or cause}; nothing was written", str(target))


RESULTS_ROOT = Path("results")
"""Where default results folders go, under the current folder."""


def default_folder(scenario_name: str, root: Path = RESULTS_ROOT, now: Optional[datetime] = None,
                   reserve: bool = False) -> Path:
    """``results/<name>-<YYYYmmdd-HHMMSS>``, with a suffix if that name is taken. The name keeps its letters and
    digits in any script (北碚区 stays 北碚区), anything else (separators, spaces, controls, direction marks) is a hyphen.

    With ``reserve`` the folder is made now, empty (``WriteError`` if it cannot be): of two commands started in
    the same second, each takes its own (a name taken meanwhile is skipped, as one taken before)."""
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    slug = re.sub(r"[^\w.-]+", "-", unicodedata.normalize("NFC", scenario_name)).strip("-.") or "run"
    suffix = 1
    while True:
        candidate = root / (f"{slug}-{stamp}" if suffix == 1 else f"{slug}-{stamp}-{suffix}")
        suffix += 1
        if not reserve:
            if not os.path.lexists(candidate):
                return candidate
            continue
        try:
            candidate.parent.mkdir(parents=True, exist_ok=True)
            candidate.mkdir()  # made only if missing: the reservation
            return candidate
        except FileExistsError:
            continue
        except OSError as exc:
            raise WriteError(candidate, exc) from exc


def _absolute(target: Path) -> Path:
    """The target without ``.`` or ``..`` (``--out .`` has no name to rename)."""
    return Path(os.path.abspath(target))


def _named(target: Path) -> Path:
    """The target as given, or absolute when it has no name of its own (``.``, ``..``, ``x/..``)."""
    target = Path(target)
    return target if target.name not in ("", ".", "..") and ".." not in target.parts else _absolute(target)


def check_target(target: Path, force: bool) -> None:
    """Refuse a target that cannot take results: a file, a mount point, the current folder (or one holding it),
    a non-empty folder without ``force``, or with ``force`` one that simsampling did not write."""
    target = Path(target)
    if "\x00" in str(target):
        raise ResultsExistError(f"{target} holds a NUL character, which no folder name can hold")
    here = _absolute(target)
    if here.parent == here:
        raise ResultsExistError(f"{target} is the root of the file system: choose a folder inside it")
    if target.exists() and not target.is_dir():
        raise ResultsExistError(f"{target} exists and is not a folder")
    if not target.is_dir():
        above = next((p for p in here.parents if os.path.lexists(p)), None)
        if above is not None and not above.is_dir():
            raise ResultsExistError(f"{target} cannot be made: {above} is a file, not a folder")
        return
    if os.path.ismount(here):
        raise ResultsExistError(f"{target} is a mount point, which cannot be renamed into place: "
                                f"choose a folder inside it (e.g. {target / 'results'})")
    cwd = _absolute(Path.cwd())
    if cwd == here or here in cwd.parents:
        raise ResultsExistError(f"{target} holds the current folder, which cannot be replaced: "
                                "run from another folder or choose another --out")
    if not any(target.iterdir()):
        return
    if not force:
        raise ResultsExistError(f"{target} already holds results; choose another --out or add --force to replace it")
    reason = not_ours(target)
    if reason is not None:
        raise ResultsExistError(f"{target} is not a results folder simsampling wrote ({reason}); --force replaces "
                                "only those: choose another --out, or empty it yourself")


def not_ours(folder: Path) -> Optional[str]:
    """Why ``folder`` is not a results folder written by simsampling (None when it is: it may be replaced)."""
    try:
        summary = json.loads((folder / SUMMARY).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return f"no readable {SUMMARY}"
    if not isinstance(summary, dict):
        return f"{SUMMARY} is not a simsampling summary"
    names = listed(folder)
    if names is None:
        return f"no record of the files simsampling wrote ({MANIFEST})"
    if SUMMARY not in names:
        return f"{SUMMARY} was not written by simsampling"
    foreign = [path for path in contents(folder) if path not in names and path != MANIFEST]
    if foreign:
        more = f" and {len(foreign) - 3} more" if len(foreign) > 3 else ""
        return f"it holds {', '.join(foreign[:3])}{more}, which simsampling did not write"
    return None


def clean_leftovers(target: Path) -> list[Path]:
    """Remove the scratch folders that runs killed on this host left beside ``target``, whatever results they
    were writing (a default name carries its time, so no later run goes to the same); return them.

    A run killed between retiring the old results and renaming the new ones into
    place left the old ones in a ``.old-`` folder: they are put back when their target is missing.
    """
    parent = _named(target).parent
    removed = []
    for path in stale(parent, SCRATCH):
        found = SCRATCH.match(path.name)
        kept, home = path / found["name"], parent / found["name"]
        if found["kind"] == "old" and kept.is_dir() and not os.path.lexists(home):
            try:
                os.replace(kept, home)
            except OSError:
                continue
        if remove(path):
            removed.append(path)
    return removed


def scratch_folder(target: Path, kind: str) -> Path:
    """A new hidden folder beside ``target`` for ``kind`` (one of SCRATCH_KINDS), named after this process."""
    target = _named(target)
    return make_scratch_folder(f".{target.name}.{kind}-", target.parent)


@contextmanager
def scratch_beside(target: Path, kind: str) -> Iterator[Path]:
    """A scratch folder beside ``target`` for the duration of the block (``WriteError`` if it cannot be made).

    Made before a run, it also shows at once that the results could be written there.
    """
    try:
        _named(target).parent.mkdir(parents=True, exist_ok=True)
        folder = scratch_folder(target, kind)
    except OSError as exc:
        raise WriteError(target, exc) from exc
    try:
        yield folder
    finally:
        remove(folder)


@contextmanager
def results_folder(target: Path, force: bool = False) -> Iterator[Path]:
    """Yield a temporary folder to fill; on success it becomes ``target``.

    An ``OSError`` while writing (disk full, read-only drive) removes the temporary
    folder and is raised as :class:`WriteError` naming ``target``.
    """
    check_target(target, force)
    clean_leftovers(target)
    try:
        _named(target).parent.mkdir(parents=True, exist_ok=True)
        staging = scratch_folder(target, "partial")
    except OSError as exc:
        raise WriteError(target, exc) from exc
    try:
        yield staging
        promote(staging, target, force)
    except WriteError:
        raise
    except OSError as exc:
        raise WriteError(target, exc) from exc
    finally:
        remove(staging)  # gone once promoted; else what the block wrote (its forked children ended by then)


def promote(staging: Path, target: Path, force: bool = False) -> None:
    """Rename the filled folder ``staging`` into place as ``target`` (replacing it only with ``force``).

    The folder's manifest is written first. On failure the target is as it was
    (the old results put back) and ``WriteError`` is raised; ``staging`` is left to the caller.
    """
    check_target(target, force)
    given, target = target, _named(target)
    try:
        write_list(staging, contents(staging))
        staging.chmod(FOLDER_MODE)
        if target.is_dir() and any(target.iterdir()):
            retired = scratch_folder(target, "old")
            os.replace(target, retired / target.name)
            try:
                os.replace(staging, target)
            except OSError:
                os.replace(retired / target.name, target)
                retired.rmdir()
                raise
            shutil.rmtree(retired, ignore_errors=True)
        else:
            os.replace(staging, target)  # over an empty folder, or none
    except OSError as exc:
        raise WriteError(given, exc) from exc


def partial_folder(target: Path) -> Path:
    """The persistent in-progress folder of a resumable job (a sweep): ``.<name>.partial`` beside ``target``.

    Unlike the temporary folder of :func:`results_folder` it survives an interruption, so the
    job can pick up where it stopped; :func:`promote` turns it into ``target`` when done.
    """
    target = _named(target)
    return target.parent / f".{target.name}.partial"
