"""No leftovers after a kill: scratch named after the process that made it, and children that exit with their parent.

A run writes into hidden scratch space beside its results folder (the folder being
filled, residents streamed to persons.csv, the previous results being replaced) and
hands its scenario to worker processes in a temporary file. A run that ends, even
by Ctrl-C, removes them; one killed outright (SIGKILL, power cut) cannot. So each
name carries the process id and host of its maker (``<prefix><pid>@<host>-<random>``):
the next run into the same place removes those whose process is gone on this host,
and never touches a live run's, nor one made on another host (a shared drive).
Worker processes and the chart drawer end themselves when their parent is gone
(:func:`exit_when_orphaned`).
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Iterator, Optional, Union

_HOST = re.sub(r"[^A-Za-z0-9.]+", "", socket.gethostname())[:40] or "host"


def owned_prefix(prefix: str) -> str:
    """``prefix`` followed by this process's id and host: the prefix of a scratch name (``mkdtemp``/``mkstemp``)."""
    return f"{prefix}{os.getpid()}@{_HOST}-"


def make_scratch_folder(prefix: str, parent: Path) -> Path:
    """A new hidden folder in ``parent`` named ``<prefix><pid>@<host>-<random>``."""
    return Path(tempfile.mkdtemp(prefix=owned_prefix(prefix), dir=parent))


def owner(name: str, prefix: Union[str, re.Pattern]) -> Optional[tuple[int, str]]:
    """(process id, host) of a scratch name made with ``prefix`` (or with any prefix a pattern matches);
    None for any other name."""
    head = prefix.pattern if isinstance(prefix, re.Pattern) else re.escape(prefix)
    match = re.match(f"(?:{head})" + r"(?P<pid>\d+)@(?P<host>[A-Za-z0-9.]*)-", name)
    return (int(match["pid"]), match["host"]) if match else None


def process_alive(pid: int) -> bool:
    """Whether a process with this id exists on this machine (one we may not signal counts as alive)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def _running() -> Iterator[tuple[int, list[str]]]:
    """Each process that runs (a zombie does not) as its id and the fields of ``/proc/<id>/stat`` after its name:
    state, parent, process group... (Linux; elsewhere none are known)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] != "Z":
            yield int(stat.parent.name), fields


def living_in_group(group: int) -> list[int]:
    """Processes of a process group that still run, read from ``/proc`` (Linux; elsewhere none are known).

    A process killed with SIGKILL is not gone at once: it still runs while the system takes its
    memory back, then lingers as a zombie until reaped (not counted)."""
    return [pid for pid, fields in _running() if int(fields[2]) == group]


def own_children() -> list[int]:
    """Processes this one forked that still run, read from ``/proc`` (Linux; elsewhere none are known)."""
    me = os.getpid()
    return [pid for pid, fields in _running() if int(fields[1]) == me]


def wait_for_group(group: int, timeout_s: float = 5.0) -> bool:
    """Wait (at most ``timeout_s``) until no process of a killed group runs; whether none does."""
    end = time.monotonic() + timeout_s
    while living_in_group(group):
        if time.monotonic() >= end:
            return False
        time.sleep(0.01)
    return True


def stale(folder: Path, prefix: Union[str, re.Pattern]) -> list[Path]:
    """Entries of ``folder`` named with ``prefix`` by a process of this host that is gone."""
    try:
        entries = list(Path(folder).iterdir())
    except OSError:
        return []
    found = []
    for entry in entries:
        made_by = owner(entry.name, prefix)
        if made_by is not None and made_by[1] == _HOST and not process_alive(made_by[0]):
            found.append(entry)
    return sorted(found)


def remove(path: Path, attempts: int = 40) -> bool:
    """Remove a file or folder tree; False if it could not be removed (not ours to remove, a read-only drive).

    A tree that something still wrote into while it was removed (a child that was
    being ended) is removed again, a few times, until it is gone."""
    for attempt in range(attempts):
        try:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
        except OSError as exc:
            if exc.errno not in (errno.ENOTEMPTY, errno.ENOENT, errno.EEXIST):
                return False
        if not os.path.lexists(path):
            return True
        time.sleep(0.05)
    return False


def exit_when_orphaned(parent: Optional[int] = None, poll_s: float = 0.5) -> None:
    """End this process (a worker, a forked child) soon after its parent is gone, whatever it is doing.

    ``parent`` is the process id the parent gave (default: the parent now). A worker
    busy with a batch when its parent is killed would otherwise finish it, and go on
    holding its memory, for minutes. A daemon thread polls the parent's id, which
    changes when the parent dies (the child is handed to another process); a parent
    gone before this is called (killed while the worker imported its modules) ends
    it at once. POSIX only; elsewhere nothing is done.
    """
    if os.name != "posix":
        return
    parent = os.getppid() if parent is None else parent

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll_s)
        os._exit(1)

    if os.getppid() != parent:
        os._exit(1)
    threading.Thread(target=watch, name="simsampling-exit-with-parent", daemon=True).start()


def settle_forked_child(parent: int) -> None:
    """In a child just forked from ``parent``: end with it (:func:`exit_when_orphaned`), and open the standard
    streams afresh, since a thread of the parent (a progress bar) may have held their locks at the fork."""
    exit_when_orphaned(parent)
    sys.stdout = open(1, "w", encoding=sys.stdout.encoding, errors="replace", closefd=False)
    sys.stderr = open(2, "w", encoding=sys.stderr.encoding, errors="backslashreplace", closefd=False)
