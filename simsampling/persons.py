"""The persons table: every resident of the first replication, one row each (CSV or Parquet).

Written point by point, while a large run goes on or from the logs a small run
kept, so memory holds one point's rows at a time. Schema: docs/outputs.md.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterable, Optional, Sequence

import numpy as np

from .log import EventLog, clock_text, whole_clock_text
from .stages import union
from .tables import FORMATS, Column, append_csv, header_bytes, write_parquet

def persons_stages(flows: Iterable[Sequence[str]]) -> tuple[str, ...]:
    """The stages with columns in the persons table: every stage of the points' flows, in one order."""
    return union(flows)


def persons_header(stages: Sequence[str]) -> list[str]:
    """The persons table's columns, with a pair of columns per stage of ``stages``."""
    return [
        "point", "resident", "status", "day", "qr", "station", "arrival_s", "arrival_clock",
        *(f"{stage}_{edge}_s" for stage in stages for edge in ("start", "end")),
        "priority", "balks", "left_s", "left_stage",
    ]


DECIMALS = 3
"""Seconds in persons.csv: milliseconds."""
DTYPES = {"point": object, "resident": np.int64, "status": object, "day": np.int16, "qr": bool, "station": np.int32,
          "arrival_clock": object, "priority": bool, "balks": np.int8, "left_stage": object}
"""Column types (the others are floats): fixed, so every point's rows, and Parquet's schema, are the same whatever the engine."""


def clock_cells(seconds: np.ndarray) -> np.ndarray:
    """``clock_text`` of each time (empty for NaN), computed once per distinct second."""
    usual = np.abs(seconds) < 2.0**62  # False for NaN and infinities
    whole = np.rint(np.where(usual, seconds, 0.0)).astype(np.int64)  # round() to the nearest, ties to even
    distinct, where = np.unique(whole, return_inverse=True)
    texts = np.array([whole_clock_text(value) for value in distinct.tolist()] + [""], dtype=object)
    cells = texts[where.reshape(-1)]
    cells[~usual] = [clock_text(value) for value in seconds[~usual].tolist()]
    return cells


def persons_columns(log: EventLog, stages: Sequence[str]) -> dict[str, Column]:
    """The log's residents as the persons table's columns, in ``persons_header(stages)`` order."""
    table = log.table(stages)
    table["arrival_clock"] = clock_cells(table["arrival_s"])
    return {name: np.asarray(table[name], dtype=DTYPES.get(name, float)) for name in persons_header(stages)}


class PersonsWriter:
    """persons.csv or persons.parquet with the columns of ``stages``, appended to point by point;
    ``close`` returns the finished file.

    Parquet is written as one part per point in a scratch folder beside the file, then
    streamed into one file by polars (the parts are never all in memory). ``expected_rows``,
    when known, and the rows written so far size the table: a large one goes through polars
    point by point (``tables.append_csv``), a district's 830,000 rows in a fraction of the time.
    """

    def __init__(self, path: Path, stages: Sequence[str], table_format: str = "csv", expected_rows: int = 0):
        if table_format not in FORMATS:
            raise ValueError(f"unknown table format {table_format!r}; expected one of {', '.join(FORMATS)}")
        self.path = Path(path).with_suffix(f".{table_format}")
        self.table_format = table_format
        self.stages = tuple(stages)
        self.header = persons_header(self.stages)
        self.rows = 0
        self.expected_rows = expected_rows
        self._parts: list[Path] = []
        self._scratch: Optional[Path] = None
        self._handle = None
        if table_format == "csv":
            self._handle = self.path.open("wb")
            self._handle.write(header_bytes(self.header))
        else:
            self._scratch = Path(tempfile.mkdtemp(prefix=f".{self.path.name}.parts-", dir=self.path.parent))

    def append(self, log: EventLog) -> int:
        """Write the log's residents; return how many."""
        columns = persons_columns(log, self.stages)
        count = len(columns["resident"])
        if self._handle is not None:
            table_cells = max(self.expected_rows, self.rows + count) * len(columns)
            append_csv(self._handle, list(columns.values()), DECIMALS, table_cells=table_cells)
        elif count or not self._parts:
            part = self._scratch / f"{len(self._parts):06d}.parquet"
            write_parquet(part, columns)
            self._parts.append(part)
        self.rows += count
        return count

    def close(self) -> Path:
        """Finish the file and return its path."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        elif self._scratch is not None:
            try:
                if not self._parts:
                    write_parquet(self.path, {name: np.empty(0, dtype=DTYPES.get(name, float)) for name in self.header})
                elif len(self._parts) == 1:
                    os.replace(self._parts[0], self.path)
                else:
                    import polars as pl

                    pl.scan_parquet(self._parts).sink_parquet(self.path, compression="zstd")
            finally:
                shutil.rmtree(self._scratch, ignore_errors=True)
                self._scratch = None
        return self.path

    def discard(self) -> None:
        """Close and remove whatever was written (an interrupted run)."""
        try:
            self.close()
        finally:
            self.path.unlink(missing_ok=True)
