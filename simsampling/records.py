"""A point's own records: per-resident timestamps read from a CSV table, checked line by line.

Registration systems log each QR scan with its time and the tube barcode scan marks the
swab; exported, that is a table with one row per resident. This module reads it into
arrays (seconds since midnight of the records' day) and says what is wrong with each bad
line. A bad line is never used: the caller skips it (with a count) or refuses the file.

Columns (header names: case, surrounding spaces, and spaces or hyphens for ``_`` ignored; any subset of
the four times):

* ``arrival``: the resident joined the line (after any entrance check);
* ``scan``: registration done (the resident's QR code and the tube scanned);
* ``swab_start`` / ``swab_end``: the resident sat down at / left the sampling station;
* ``station``: the station's id (text), when the system records it;
* ``resident`` or ``id``: an identifier: a resident recorded twice is a bad record the second time.

Other columns are ignored, and named on the terminal (a misspelt column is then seen).

Times are ``HH:MM``, ``HH:MM:SS`` (fractions of a second allowed, after a point or a comma)
or a date and time ``YYYY-MM-DD HH:MM:SS`` (``T`` between them also works; ``2022/3/19 7:05``
as spreadsheets write it too). Every record must be of one day. Cells are separated by
commas, semicolons or tabs (whichever the header's column names are read with); the text
is UTF-8 or GB18030 (what a Chinese Excel saves).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Optional

import numpy as np

from .scenario.reading import Unreadable, read_input

TIME_COLUMNS = ("arrival", "scan", "swab_start", "swab_end")
"""The timestamps of a resident, in the order they must happen."""
STATION_COLUMN = "station"
ID_COLUMNS = ("resident", "id")
"""Identifiers a table may carry: read past without a word (the fit does not need them)."""
MAX_BYTES = 200_000_000
MAX_ROWS = 2_000_000

_TIME = re.compile(r"^(?:(\d{4})([-/])(\d{1,2})\2(\d{1,2})[ T])?(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?$")
DELIMITERS = (",", ";", "\t")
"""Between cells: a comma, or what spreadsheets write where the comma is the decimal mark (a semicolon), or a tab."""
ENCODINGS = ("utf-8-sig", "gb18030")
"""UTF-8 (with or without a byte-order mark), else GB18030: what Excel on a Chinese Windows saves as "CSV"."""


class RecordsError(Exception):
    """The file cannot be used at all (missing, not text, no usable column). ``os_error``: it could not be read."""

    def __init__(self, message: str, line: Optional[int] = None, os_error: bool = False):
        super().__init__(message)
        self.line = line
        self.os_error = os_error


@dataclass(frozen=True)
class BadRecord:
    line: int
    column: Optional[str]
    message: str


@dataclass
class Records:
    """The good records: one array per time column present (NaN: not recorded), and their source lines."""

    path: Path
    line: np.ndarray
    times: dict[str, np.ndarray]
    station: Optional[np.ndarray]
    bad: list[BadRecord] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    day: Optional[date] = None

    @property
    def count(self) -> int:
        return int(self.line.size)

    def has(self, *columns: str) -> bool:
        """Whether the table has all these time columns."""
        return all(c in self.times for c in columns)


def parse_time(text: str) -> tuple[Optional[date], float]:
    """(date or None, seconds since midnight) of one cell; ValueError if it is not a time."""
    match = _TIME.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a time (HH:MM:SS, or YYYY-MM-DD HH:MM:SS)")
    year, _, month, day, hours, minutes, seconds, fraction = match.groups()
    hours, minutes, seconds = int(hours), int(minutes), float(f"{seconds or 0}.{fraction or 0}")
    if hours > 23 or minutes > 59 or seconds >= 60:
        raise ValueError(f"{text!r} is not a time of day")
    when = None
    if year is not None:
        try:
            when = date(int(year), int(month), int(day))
        except ValueError:
            raise ValueError(f"{text!r} has no such date") from None
    return when, hours * 3600.0 + minutes * 60.0 + seconds


def read_records(path: Path) -> Records:
    """Read and check a records table; raise :class:`RecordsError` when nothing of it can be used."""
    path = Path(path)
    try:  # a regular file within its size, refused unread otherwise (/dev/zero, a FIFO, a file that grows)
        raw = read_input(path, MAX_BYTES, "records table")
    except Unreadable as exc:
        raise RecordsError(f"{path}: {exc}", os_error=exc.os_error) from None
    lines = raw.count(b"\n") + (not raw.endswith(b"\n"))
    if lines > MAX_ROWS + 1:  # refused at once, not after parsing millions of them
        raise RecordsError(f"{path}: has {lines:,} lines: at most {MAX_ROWS:,} records (and a header) are read")
    if b"\0" in raw:
        raise RecordsError(f"{path}:{raw[: raw.index(0)].count(10) + 1}: holds a NUL character")
    encoding = _encoding(path, raw)
    first_line = raw.split(b"\n", 1)[0].decode(encoding)
    if not first_line.strip():
        where, what = (f"{path}", "is empty") if not raw.decode(encoding).strip() else (f"{path}:1", "is blank")
        raise RecordsError(f"{where}: {what}: it needs a header row first ({','.join(TIME_COLUMNS)},{STATION_COLUMN})")
    delimiter = max(DELIMITERS, key=lambda d: (len(set(_names(first_line, d)) & set(TIME_COLUMNS)), first_line.count(d)))
    # Decoded as it is read (a str of the whole file, as io.StringIO keeps it, takes four bytes a character).
    reader = csv.reader(io.TextIOWrapper(io.BytesIO(raw), encoding=encoding, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except csv.Error as exc:
        raise RecordsError(f"{path}:1: is not valid CSV ({exc})", 1) from None
    names = [column_name(name) for name in header]
    for index, name in enumerate(names):
        if name and name in names[:index]:
            raise RecordsError(f"{path}:1: column {name!r} is given twice", 1)
    known = [c for c in TIME_COLUMNS if c in names]
    if not known:
        raise RecordsError(
            f"{path}:1: no time column: the header needs at least one of {', '.join(TIME_COLUMNS)} "
            f"(it has {', '.join(repr(n) for n in names) or 'nothing'}): rename the columns of your export "
            "to these names (docs/outputs.md, simsampling fit)", 1)
    ignored = [n for n in names if n and n not in TIME_COLUMNS and n != STATION_COLUMN and n not in ID_COLUMNS]
    where = {name: names.index(name) for name in known}
    station_at = names.index(STATION_COLUMN) if STATION_COLUMN in names else None
    id_at = next((names.index(name) for name in ID_COLUMNS if name in names), None)
    first_seen: dict[str, int] = {}

    lines, stations, bad = [], [], []
    values = {name: [] for name in known}
    days: dict[date, int] = {}
    row_dates: list[Optional[date]] = []
    try:
        for row in reader:
            number = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(lines) + len(bad) >= MAX_ROWS:
                raise RecordsError(f"{path}:{number}: more than {MAX_ROWS:,} records")
            if len(row) != len(header):
                bad.append(BadRecord(number, None, f"has {len(row)} cells, the header has {len(header)}"))
                continue
            problem, parsed, when = _check_row(row, where, number)
            if problem is not None:
                bad.append(problem)
                continue
            station = row[station_at].strip() if station_at is not None else ""
            if station_at is not None and not station:
                bad.append(BadRecord(number, STATION_COLUMN, "is empty (the file records stations: give each record its own)"))
                continue
            resident = row[id_at].strip() if id_at is not None else ""
            if resident in first_seen:  # an export's repeated row, or a second visit: each resident counts once
                bad.append(BadRecord(number, names[id_at], f"{resident!r} is already on line {first_seen[resident]}"))
                continue
            if resident:
                first_seen[resident] = number
            lines.append(number)
            stations.append(station)
            row_dates.append(when)
            for name in known:
                values[name].append(parsed[name])
            if when is not None:
                days[when] = days.get(when, 0) + 1
    except csv.Error as exc:
        raise RecordsError(f"{path}:{reader.line_num}: is not valid CSV ({exc})", reader.line_num) from None

    day = max(days, key=days.get) if days else None
    keep = np.ones(len(lines), dtype=bool)
    if len(days) > 1:
        # A day boundary: the records of other days (or with no date) are not this day's.
        for k, when in enumerate(row_dates):
            if when != day:
                keep[k] = False
                bad.append(BadRecord(lines[k], None, f"is of {when or 'no date'}, the records' day is {day}: fit one day at a time"))
    bad.sort(key=lambda b: b.line)
    return Records(
        path=path,
        line=np.asarray(lines, dtype=np.int64)[keep],
        times={name: np.asarray(v, dtype=float)[keep] for name, v in values.items()},
        station=np.asarray(stations, dtype=object)[keep] if station_at is not None else None,
        bad=bad,
        ignored_columns=ignored,
        day=day,
    )


def column_name(text: str) -> str:
    """A header cell as a column name: case, surrounding spaces and inner spaces or hyphens ("Swab Start") ignored."""
    return re.sub(r"[\s-]+", "_", text.strip().lower())


def _names(line: str, delimiter: str) -> list[str]:
    try:
        return [column_name(cell) for cell in next(csv.reader([line], delimiter=delimiter), [])]
    except csv.Error:
        return []


def _encoding(path: Path, raw: bytes) -> str:
    """The first of ``ENCODINGS`` that reads the whole file."""
    for encoding in ENCODINGS:
        try:
            raw.decode(encoding)
            return encoding
        except UnicodeDecodeError as exc:
            if encoding == ENCODINGS[0]:
                line = raw[: exc.start].count(b"\n") + 1
    raise RecordsError(f"{path}:{line}: is not text (neither UTF-8 nor GB18030): save it as CSV, UTF-8", line)


def _check_row(row: list[str], where: dict[str, int], number: int):
    """(problem, times by column, date): a problem if a cell is not a time, the times go back, or the day changes."""
    parsed: dict[str, float] = {}
    when = None
    for name, index in where.items():
        cell = row[index].strip()
        if not cell:
            parsed[name] = np.nan
            continue
        try:
            cell_day, seconds = parse_time(cell)
        except ValueError as exc:
            return BadRecord(number, name, str(exc)), None, None
        if cell_day is not None:
            if when is not None and cell_day != when:
                return BadRecord(number, name, f"is on {cell_day}, the record began on {when}: a record crosses midnight"), None, None
            when = cell_day
        parsed[name] = seconds
    present = [(name, parsed[name]) for name in where if not np.isnan(parsed[name])]
    if not present:
        return BadRecord(number, None, "has no time at all"), None, None
    ordered = sorted(present, key=lambda item: TIME_COLUMNS.index(item[0]))
    for (first, t0), (then, t1) in zip(ordered, ordered[1:]):
        if t1 < t0:
            hint = " (a record crossing midnight? fit one day at a time)" if t0 - t1 > 12 * 3600 else ""
            return BadRecord(number, then, f"{then} {_clock(t1)} is before {first} {_clock(t0)}{hint}"), None, None
    return None, parsed, when


def _clock(seconds: float) -> str:
    whole = int(round(seconds))
    return f"{whole // 3600:02d}:{whole // 60 % 60:02d}:{whole % 60:02d}"
