"""Tables written a column at a time: CSV (the default) and Parquet, through polars.

A results table is a dict of named columns, each a numpy array or a list. Numbers
become text a whole column at once, and polars (compiled Rust) writes the rows, the
quoting and Parquet's typed columns, so a city's tables take a fraction of a second
rather than a Python loop over millions of cells (docs/architecture.md says why polars).

A small table (up to ``SMALL_TABLE_CELLS`` cells, e.g. the demo's) is written by Python
itself (``joined_rows``): importing polars costs more (0.14-0.3 s of CPU) than the whole
table. So is a table whose cells Python formats anyway (no fixed decimals), up to
``TEXT_TABLE_CELLS`` cells, unless polars is loaded already: a city's kpis.csv, points.csv
and queue_by_point.csv cost less so than polars' import.

The CSV bytes are those Python's ``csv`` module writes with its defaults, which is
how these tables were first written (tests/unit/test_tables.py compares both on
random tables): a field is quoted only when it holds a comma, a quote or a line
break; rows end in CRLF; floats as ``{:.10g}``, or with ``decimals`` fixed decimals
(polars rounds them as Python does); NaN and infinities as empty cells (with fixed
decimals, infinities as ``inf``); booleans ``true``/``false``; None empty.

Every text cell (point ids and names, statuses, clock times, KPI names) goes through
``text_cells``: anything text cells need is done there, once: a text a spreadsheet
would run as a formula gets a single quote in front (docs/outputs.md).
"""

from __future__ import annotations

import csv
import io
import itertools
import math
import sys
from pathlib import Path
from typing import Any, Callable, Iterable, Optional, Sequence, Union

import numpy as np

from .choices import FORMATS

Column = Union[np.ndarray, Sequence[Any]]
PARQUET_COMPRESSION = "zstd"
SMALL_TABLE_CELLS = 100_000
"""Up to this many cells, CSV rows are written by Python (``joined_rows``) rather than by polars, whose import alone
takes 0.14-0.3 s of CPU: the same bytes either way (tests/unit/test_tables.py)."""


TEXT_TABLE_CELLS = 10_000_000
"""Up to this many cells, a table whose cells are formatted by Python (no fixed decimals) is written without polars
unless polars is loaded already: its rows joined as text cost about 15 ns a cell more than polars' writer (the Xi'an
round's kpis.csv, 2.8 million cells: 0.15 s against 0.11 s), its import 0.14 s of CPU and some 10,000 page faults."""
QUOTED = (",", '"', "\r", "\n")
"""What makes the ``csv`` module quote a field (QUOTE_MINIMAL, its default delimiter, quote and line ends)."""


FORMULA_STARTS = frozenset("=+-@\t\r")
"""A text cell starting with one of these is run as a formula by spreadsheet programs (OWASP, "CSV Injection")."""


def text_cells(values: Iterable[Any]) -> list[Optional[str]]:
    """Cells of text: each value's text, an empty text as an empty cell (None), and a text that a spreadsheet
    would run as a formula (``=HYPERLINK(...)``, ``@SUM(...)``) with a single quote in front, as the OWASP
    guidance on CSV injection advises. Parquet's text columns get the same cells, so both formats agree."""
    return [None if value is None or value == "" else ("'" + text if text and text[0] in FORMULA_STARTS else text)
            for value in values for text in (str(value),)]


class _Remembered(dict):
    """Each value's cell made once (``cell``), then looked up: a city's kpis.csv repeats its KPI names, point ids
    and counts over 395,000 rows (a column 0.007-0.009 s of CPU against 0.025-0.045 s). For values of one exact type
    only: ``1``, ``1.0`` and ``True`` are one key."""

    def __init__(self, cell: Callable[[Any], Optional[str]]) -> None:
        super().__init__()
        self.cell = cell

    def __missing__(self, value: Any) -> Optional[str]:
        text = self[value] = self.cell(value)
        return text

    def cells(self, values: Iterable[Any]) -> list[Optional[str]]:
        return list(map(self.__getitem__, values))


def _text_cell(value: str) -> Optional[str]:
    return text_cells([value])[0]


def number_cells(values: Column) -> list[Optional[str]]:
    """Cells of numbers as text: floats ``{:.10g}`` (NaN and infinities empty), integers whole,
    booleans ``true``/``false``, None empty; text goes through ``text_cells``."""
    if isinstance(values, np.ndarray) and values.dtype.kind == "b":
        return ["true" if value else "false" for value in values.tolist()]
    if isinstance(values, np.ndarray) and values.dtype.kind in "iu":
        return list(map(str, values.tolist()))
    if isinstance(values, np.ndarray) and values.dtype.kind == "f":
        cells: list[Optional[str]] = list(map("{:.10g}".format, values.tolist()))
        for index in np.flatnonzero(~np.isfinite(values)).tolist():
            cells[index] = None
        return cells
    kinds = set(map(type, values))  # a list of one kind of cell (a city's kpis.csv: 2.4 million) goes a column at once
    if kinds == {type(None)}:
        return [None] * len(values)
    if kinds <= {float, type(None)}:
        return [None if value is None or not math.isfinite(value) else f"{value:.10g}" for value in values]
    if kinds == {int}:
        return _Remembered(str).cells(values)
    if kinds == {str}:
        return _Remembered(_text_cell).cells(values)
    return [_number_cell(value) for value in values]


def _number_cell(value: Any) -> Optional[str]:
    kind = type(value)  # the common cases first
    if kind is float:
        return f"{value:.10g}" if math.isfinite(value) else None
    if kind is int:
        return str(value)
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return f"{value:.10g}" if math.isfinite(value) else None
    return text_cells([value])[0]


def fixed_cells(values: Column, decimals: int) -> list[Optional[str]]:
    """Cells as polars writes a typed column with ``decimals`` fixed decimals (``frame(..., typed=True)``):
    floats rounded as Python rounds them (NaN empty, infinities ``inf``), integers whole, booleans
    ``true``/``false``, anything else text (``text_cells``)."""
    kind = values.dtype.kind if isinstance(values, np.ndarray) else "O"
    if kind == "f":
        return [None if value != value else f"{value:.{decimals}f}" for value in values.tolist()]
    if kind in "iub":
        return number_cells(values)
    return text_cells(values)


def header_bytes(header: Sequence[str]) -> bytes:
    """The header row as Python's ``csv`` writes it."""
    text = io.StringIO()
    csv.writer(text).writerow(text_cells(header))
    return text.getvalue().encode("utf-8")


def frame(columns: Sequence[Column], names: Optional[Sequence[str]] = None, typed: bool = False):
    """A polars DataFrame of the columns (named ``names``, else positionally).

    ``typed``: float, integer and boolean arrays keep their type (float NaN as null)
    and other columns are text (``text_cells``), for Parquet or fixed decimals; else
    every column is text (``number_cells``).
    """
    import polars as pl

    series = []
    for index, values in enumerate(columns):
        name = names[index] if names is not None else f"c{index}"
        kind = values.dtype.kind if isinstance(values, np.ndarray) else "O"
        if typed and kind == "f":
            series.append(pl.Series(name, values, dtype=pl.Float64).fill_nan(None))
        elif typed and kind in "iub":
            series.append(pl.Series(name, values))
        elif typed:
            series.append(pl.Series(name, text_cells(values), dtype=pl.String))
        else:
            series.append(pl.Series(name, number_cells(values), dtype=pl.String))
    return pl.DataFrame(series)


def append_csv(handle, columns: Sequence[Column], decimals: Optional[int] = None,
               table_cells: Optional[int] = None) -> None:
    """Append the rows of ``columns`` (no header) to a CSV file open in binary mode.

    ``decimals``: float arrays with that many fixed decimals, other columns text
    (``text_cells``); None: every column through ``number_cells`` (floats ``{:.10g}``).
    ``table_cells``: the cells of the whole table these rows are part of, when it is written piece by
    piece (persons.csv, point by point): a large table goes through polars in small pieces too.
    """
    if not columns or not len(columns[0]):
        return
    # The csv module for a lone column: it writes a lone empty field as "", polars as an empty line.
    if len(columns) == 1:
        handle.write(csv_bytes([number_cells(columns[0]) if decimals is None else fixed_cells(columns[0], decimals)]))
        return
    size = max(len(columns) * len(columns[0]), table_cells or 0)
    if size <= SMALL_TABLE_CELLS or (decimals is None and size <= TEXT_TABLE_CELLS and "polars" not in sys.modules):
        handle.write(joined_rows([number_cells(values) if decimals is None else fixed_cells(values, decimals)
                                  for values in columns]))
        return
    table = frame(columns, typed=decimals is not None)
    table.write_csv(handle, include_header=False, line_terminator="\r\n", float_precision=decimals, null_value="",
                    quote_style="necessary")


def csv_bytes(cells: Sequence[Sequence[Optional[str]]]) -> bytes:
    """The rows of columns of cells as the ``csv`` module writes them (UTF-8)."""
    text = io.StringIO()
    csv.writer(text).writerows(zip(*cells))
    return text.getvalue().encode("utf-8")


def joined_rows(cells: Sequence[list[Optional[str]]]) -> bytes:
    """``csv_bytes(cells)`` for rows of two cells or more, each row joined by ``str.join``: the ``csv`` module looks at
    every character of every field (the Xi'an round's kpis.csv: 0.29 s against 0.15 s). A column is looked at as one
    text; where it holds what the ``csv`` module quotes (``QUOTED``), those of its cells are quoted as it quotes them
    (in double quotes, a double quote doubled). An empty cell (None) is empty text."""
    columns = []
    for column in cells:
        try:
            text = "".join(column)
        except TypeError:  # an empty cell (None) in it
            column = [cell or "" for cell in column]
            text = "".join(column)
        if any(mark in text for mark in QUOTED):
            column = [quoted(cell) for cell in column]
        columns.append(column)
    return ("\r\n".join(map(",".join, zip(*columns))) + "\r\n").encode("utf-8")


def quoted(cell: str) -> str:
    """A field as the ``csv`` module writes it by default: in double quotes, a double quote doubled, when it holds a
    comma, a double quote or a line end; else as it is."""
    if any(mark in cell for mark in QUOTED):
        return '"' + cell.replace('"', '""') + '"'
    return cell


def write_csv(path: Path, header: Sequence[str], columns: Sequence[Column], decimals: Optional[int] = None) -> None:
    """``path`` as CSV: the header, then the rows of ``columns`` (``append_csv``)."""
    with Path(path).open("wb") as handle:
        handle.write(header_bytes(header))
        append_csv(handle, columns, decimals)


ROWS_AT_ONCE = 50_000
"""Rows of a table built row by row that are held at once (a city's kpis.csv has 395,000)."""


def write_rows(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """``path`` as CSV from rows (each as many cells as the header), ``ROWS_AT_ONCE`` at a time: tables built
    row by row. The bytes do not depend on how the rows are split (``append_csv``'s writers agree)."""
    rows = iter(rows)
    pieces = iter(lambda: list(zip(*itertools.islice(rows, ROWS_AT_ONCE))), [])
    write_pieces(path, header, ([list(column) for column in cells] for cells in pieces))


def write_pieces(path: Path, header: Sequence[str], pieces: Iterable[Sequence[Column]]) -> None:
    """``path`` as CSV from pieces, each the header's columns for some of the rows: a large table built in
    columns a piece at a time (a city's kpis.csv), held one piece at a time. The same bytes as ``write_csv``
    of the pieces joined, however they are split."""
    with Path(path).open("wb") as handle:
        handle.write(header_bytes(header))
        for columns in pieces:
            append_csv(handle, columns)


def write_parquet(path: Path, columns: dict[str, Column]) -> None:
    """``path`` as Parquet: typed columns (floats with NaN as null, integers, booleans, text), zstd-compressed."""
    frame(list(columns.values()), list(columns), typed=True).write_parquet(path, compression=PARQUET_COMPRESSION)


def write_table(folder: Path, name: str, columns: dict[str, Column], table_format: str = "csv",
                decimals: Optional[int] = None) -> Path:
    """``folder/name.csv`` (``write_csv``) or ``folder/name.parquet`` (``write_parquet``); returns the path."""
    if table_format not in FORMATS:
        raise ValueError(f"unknown table format {table_format!r}; expected one of {', '.join(FORMATS)}")
    path = Path(folder) / f"{name}.{table_format}"
    if table_format == "parquet":
        write_parquet(path, columns)
    else:
        write_csv(path, list(columns), list(columns.values()), decimals)
    return path
