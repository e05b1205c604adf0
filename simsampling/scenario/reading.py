"""Input files are refused by type and size before they are read, and numbers by length before they are converted.

A scenario or points table named by a planner may be anything: ``/dev/zero``, a
FIFO nobody writes to, a file that keeps growing. The file is opened without
blocking and checked on its open descriptor (no race with a rename): only a
regular file of at most the limit is read, and never more than the limit plus
one byte. Python refuses to turn more than 4,300 digits into an integer (a
ValueError, not a problem report): :func:`whole_number` reads any length.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

MAX_DIGITS = 1_000
"""Whole numbers written with more digits are read as ±10**MAX_DIGITS: far beyond every bound of the schema,
so validation reports them as too large, without converting thousands of digits."""


BAD_PATHS = (errno.ELOOP, errno.ENOTDIR, errno.ENAMETOOLONG)
"""Paths that lead nowhere (a symbolic link loop, a file where a folder should be, a name too long): bad input."""


class Unreadable(Exception):
    """An input file that is not read: the reason, as it follows the file's name in a problem. ``os_error``: the
    system failed to read it (a permission, an I/O error), rather than the file being unfit."""

    def __init__(self, reason: str, os_error: bool = False):
        super().__init__(reason)
        self.os_error = os_error


def read_input(path: Path, limit: int, what: str = "file") -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes; :class:`Unreadable` otherwise."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        descriptor = os.open(path, flags)
    except FileNotFoundError:
        raise Unreadable("no such file") from None
    except IsADirectoryError:
        raise Unreadable(f"is a folder, not a {what}") from None
    except ValueError:
        raise Unreadable("holds a NUL character, which no file name can hold") from None
    except OSError as exc:  # a path that leads nowhere is the planner's to fix; a refusal to read, the system's
        try:
            mode = os.stat(path).st_mode
        except OSError:
            mode = stat.S_IFREG
        if not stat.S_ISREG(mode):  # a socket cannot even be opened
            raise Unreadable(f"is not a regular file but {_kind(mode)}: give a {what} saved on disk") from None
        raise Unreadable(f"cannot be read ({exc.strerror or exc})", os_error=exc.errno not in BAD_PATHS) from None
    try:
        info = os.fstat(descriptor)
    except OSError as exc:
        os.close(descriptor)
        raise Unreadable(f"cannot be read ({exc.strerror or exc})", os_error=True) from None
    problem = None
    if stat.S_ISDIR(info.st_mode):
        problem = f"is a folder, not a {what}"
    elif not stat.S_ISREG(info.st_mode):
        problem = f"is not a regular file but {_kind(info.st_mode)}: give a {what} saved on disk"
    elif info.st_size > limit:
        problem = f"is larger than {limit:,} bytes"
    if problem is not None:
        os.close(descriptor)
        raise Unreadable(problem)
    with os.fdopen(descriptor, "rb") as handle:
        try:
            data = handle.read(limit + 1)
        except OSError as exc:
            raise Unreadable(f"cannot be read ({exc.strerror or exc})", os_error=True) from None
    if len(data) > limit:
        raise Unreadable(f"is larger than {limit:,} bytes (it grew while it was read)")
    return data


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "a special file"


def whole_number(text: str) -> int:
    """A whole number written in decimal (sign, digits, underscores), however many digits it has."""
    digits = text.strip().lstrip("+-").replace("_", "").lstrip("0")
    if len(digits) > MAX_DIGITS:
        return -(10**MAX_DIGITS) if text.strip().startswith("-") else 10**MAX_DIGITS
    return int(text)
