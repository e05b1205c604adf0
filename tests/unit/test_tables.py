"""simsampling.tables and the persons table: the same CSV bytes as Python's csv module, and Parquet.

The reference writers below are how results tables were written before they were
written a column at a time: Python's ``csv.writer`` over rows, numbers ``{:.10g}``
(persons: ``{:.3f}``), NaN and infinities empty. Every table must keep those bytes,
whether polars writes it or Python (``tables.joined_rows``).
"""

from __future__ import annotations

import csv
import io
import math
import sys

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simsampling.log import EventLog, clock_text
from simsampling import tables
from simsampling.persons import PersonsWriter, persons_columns, persons_header
from simsampling.tables import text_cells, write_csv, write_pieces, write_rows, write_table

NAMES = ["a", "a,b", 'say "hi"', "line\nbreak", "cr\rhere", " lead ", "北碚-1", 'é,"x"', "=SUM(A1)", "tab\there", "", "null", "NaN"]
SPECIAL = [0.0, -0.0, 1e300, -1e300, 1e-300, 5e-324, 0.0005, 0.0015, 2.5e15, 123456789.0125, math.inf, -math.inf, math.nan,
           1 / 3, -2 / 3, 1e10, 9999999999.5, 1e-5, 0.0001]


def reference_text(text: str) -> str:
    """A text cell as the OWASP guidance on CSV injection advises: a formula gets a quote in front."""
    return "'" + text if text.startswith(("=", "+", "-", "@", "\t", "\r")) else text


def reference_number(value) -> str:
    kind = type(value)
    if kind is float:
        return f"{value:.10g}" if math.isfinite(value) else ""
    if kind is int:
        return str(value)
    if kind is str:
        return reference_text(value)
    if value is None:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return "" if not math.isfinite(value) else f"{value:.10g}"
    return reference_text(str(value))


def reference_csv(header, rows) -> bytes:
    text = io.StringIO(newline="")
    writer = csv.writer(text)
    writer.writerow(header)
    for row in rows:
        writer.writerow([reference_number(v) for v in row])
    return text.getvalue().encode("utf-8")


def reference_cell(value) -> str:
    if isinstance(value, float):
        return "" if value != value else f"{value:.3f}"
    if isinstance(value, bool):
        return "true" if value else "false"
    return reference_text(value) if isinstance(value, str) else str(value)


STAGE_ORDER = ("temperature", "registration", "swab")
PERSONS_HEADER = persons_header(STAGE_ORDER)


def reference_persons(logs) -> bytes:
    text = io.StringIO(newline="")
    writer = csv.writer(text)
    writer.writerow(PERSONS_HEADER)
    split = PERSONS_HEADER.index("arrival_clock")
    for log in logs:
        table = log.table(STAGE_ORDER)
        columns = [table[name].tolist() for name in PERSONS_HEADER if name != "arrival_clock"]
        for index, when in enumerate(clock_text(t) for t in table["arrival_s"].tolist()):
            row = [reference_cell(column[index]) for column in columns]
            writer.writerow(row[:split] + [reference_text(when)] + row[split:])
    return text.getvalue().encode("utf-8")


def random_floats(rng: np.random.Generator, n: int) -> np.ndarray:
    values = np.concatenate([rng.uniform(-1e6, 1e6, n), rng.standard_normal(n) * 1e-4, np.arange(n) / 16.0,
                             np.exp(rng.uniform(-700, 700, n)) * rng.choice([-1, 1], n), SPECIAL])
    return rng.permutation(values)


@pytest.fixture(params=["polars", "python"])
def writer(request, monkeypatch):
    """Each byte comparison twice: every table through polars, then every table through Python (``joined_rows``)."""
    monkeypatch.setattr(tables, "SMALL_TABLE_CELLS", 0 if request.param == "polars" else 10**12)
    monkeypatch.setattr(tables, "TEXT_TABLE_CELLS", 0 if request.param == "polars" else 10**12)
    return request.param


CELL_TEXT = st.text(st.sampled_from(list('ab,"\r\n \t=-1.é北')), max_size=6)


@settings(max_examples=300, deadline=None)
@given(st.integers(2, 4).flatmap(lambda width: st.lists(st.lists(st.none() | CELL_TEXT, min_size=width, max_size=width),
                                                         min_size=1, max_size=8)))
def test_joined_rows_are_the_csv_modules_rows(rows):
    """Cells with commas, quotes, line ends, empty texts and None, rows of two cells or more: the csv module's bytes."""
    columns = [list(column) for column in zip(*rows)]
    assert tables.joined_rows(columns) == tables.csv_bytes(columns)


def test_a_large_table_of_python_cells_is_written_without_loading_polars(tmp_path, monkeypatch):
    """Beyond SMALL_TABLE_CELLS a table whose cells Python formats goes on without polars when polars is not loaded
    (a city's kpis.csv), the same bytes; one with fixed decimals, or once polars is loaded, goes through polars."""
    rng = np.random.default_rng(5)
    floats = random_floats(rng, 200)
    names = [NAMES[k % len(NAMES)] for k in range(floats.size)]
    expected = reference_csv(["name", "x"], zip(names, floats.tolist()))
    monkeypatch.setattr(tables, "SMALL_TABLE_CELLS", 10)
    monkeypatch.delitem(sys.modules, "polars")
    write_csv(tmp_path / "t.csv", ["name", "x"], [names, floats])
    assert "polars" not in sys.modules
    assert (tmp_path / "t.csv").read_bytes() == expected
    monkeypatch.setattr(tables, "TEXT_TABLE_CELLS", 100)
    monkeypatch.setitem(sys.modules, "polars", pl)
    write_csv(tmp_path / "polars.csv", ["name", "x"], [names, floats])
    assert (tmp_path / "polars.csv").read_bytes() == expected


def test_rows_of_mixed_cells_are_written_as_the_csv_module_writes_them(tmp_path, writer, monkeypatch):
    rng = np.random.default_rng(1)
    floats = random_floats(rng, 300)
    n = floats.size
    ints = rng.integers(-(2**62), 2**62, n)
    rows = []
    for k in range(n):
        rows.append((NAMES[k % len(NAMES)], float(floats[k]), floats[k], int(ints[k]), ints[k], bool(k % 2), np.bool_(k % 3 == 0),
                     None if k % 7 == 0 else float(floats[-k]), np.float32(floats[k]) if abs(floats[k]) < 1e30 else 1.5))
    header = ["name", "float", "np_float", "int", "np_int", "bool", "np_bool", "maybe", "f32"]
    write_rows(tmp_path / "t.csv", header, rows)
    assert (tmp_path / "t.csv").read_bytes() == reference_csv(header, rows)
    monkeypatch.setattr(tables, "ROWS_AT_ONCE", 7)  # rows written a few at a time: the same bytes
    write_rows(tmp_path / "pieces.csv", header, iter(rows))
    assert (tmp_path / "pieces.csv").read_bytes() == reference_csv(header, rows)


def test_columns_write_the_same_bytes_as_rows(tmp_path, writer):
    rng = np.random.default_rng(2)
    floats = random_floats(rng, 500)
    ints = rng.integers(-1000, 10**12, floats.size)
    flags = rng.random(floats.size) < 0.5
    names = np.array([NAMES[k % len(NAMES)] for k in range(floats.size)], dtype=object)
    write_csv(tmp_path / "t.csv", ["name", "x", "n", "flag"], [names, floats, ints, flags])
    expected = reference_csv(["name", "x", "n", "flag"], zip(names.tolist(), floats.tolist(), ints.tolist(), flags.tolist()))
    assert (tmp_path / "t.csv").read_bytes() == expected


def test_columns_that_repeat_their_cells_keep_their_bytes(tmp_path, writer):
    """Lists of one exact type whose cells repeat (a city's kpis.csv: names, ids, counts, empty intervals) are made
    a distinct value at a time: the same bytes, texts that look like formulas or are empty included."""
    texts = ["wait_min.swab.p90", "", "=SUM(A1)", "-3", "point 7", "@x"]
    rows = [(texts[k % len(texts)], k % 3 - 1, 2**70 if k % 11 == 0 else k % 2, None) for k in range(600)]
    header = ["kpi", "n", "big", "empty"]
    write_pieces(tmp_path / "t.csv", header, iter([[list(column) for column in zip(*rows)]]))
    assert (tmp_path / "t.csv").read_bytes() == reference_csv(header, rows)


def test_pieces_of_columns_write_the_same_bytes_however_they_are_split(tmp_path, writer):
    rng = np.random.default_rng(3)
    floats = random_floats(rng, 400)
    rows = [(NAMES[k % len(NAMES)], float(floats[k]), None if k % 5 == 0 else int(k) - 200) for k in range(floats.size)]
    header = ["name", "x", "n"]
    cuts = [0, 1, 2, 90, 91, 300, len(rows)]
    pieces = [[list(column) for column in zip(*rows[a:b])] for a, b in zip(cuts, cuts[1:])]
    write_pieces(tmp_path / "t.csv", header, iter(pieces))
    assert (tmp_path / "t.csv").read_bytes() == reference_csv(header, rows)


@pytest.mark.parametrize("header, rows", [(["only"], [[""], ["x"], [None], [1.5]]), (["a", "b"], []), (["a,b", 'q"'], [["", ""]])])
def test_edge_tables(tmp_path, writer, header, rows):
    write_rows(tmp_path / "t.csv", header, rows)
    assert (tmp_path / "t.csv").read_bytes() == reference_csv(header, rows)


def random_log(rng: np.random.Generator, point_id: str, n: int) -> EventLog:
    """A log with the awkward values a table must survive: NaN, negative, huge, unserved, balked and reneged residents."""

    def times() -> np.ndarray:
        values = rng.uniform(-500.0, 3 * 86400.0, n)
        values[rng.random(n) < 0.1] = np.nan
        values[rng.random(n) < 0.02] = rng.choice(SPECIAL, int(np.count_nonzero(rng.random(n) < 0.02)) or 1)[0]
        values[: min(n, 4)] = [0.0005, 1e15, -0.0015, 2.5][: min(n, 4)]
        return values

    served = rng.random(n) < 0.8
    left = np.where(served, 0, rng.integers(0, 3, n)).astype(np.int8)
    stages = ("temperature", "registration", "swab")
    return EventLog(
        point_id=point_id, replication=0, open_s=28800.0, close_s=72000.0, population=n, no_show=0,
        servers={s: 2 for s in stages}, resident=rng.permutation(n).astype(np.int64), arrival_s=times(),
        qr=rng.random(n) < 0.5, served=served, station=rng.integers(-1, 50, n).astype(np.int32),
        start={s: times() for s in stages}, end={s: times() for s in stages}, day=rng.integers(0, 3, n).astype(np.int16),
        left=left, left_s=np.where(left > 0, times(), np.nan), balks=rng.integers(0, 2, n).astype(np.int8),
        priority=rng.random(n) < 0.1,
    )


def test_persons_csv_keeps_its_bytes_on_random_logs(tmp_path, writer):
    rng = np.random.default_rng(3)
    logs = [random_log(rng, name, size) for name, size in (("p,1", 700), ('北碚 "2"', 300), ("=p3", 0), ("p4", 1))]
    writer = PersonsWriter(tmp_path / "persons", STAGE_ORDER, "csv")
    for log in logs:
        writer.append(log)
    path = writer.close()
    assert path.name == "persons.csv" and writer.rows == 1001
    assert path.read_bytes() == reference_persons(logs)


def test_persons_parquet_holds_the_logs_typed_values(tmp_path):
    rng = np.random.default_rng(4)
    logs = [random_log(rng, "p,1", 400), random_log(rng, "p2", 250)]
    writer = PersonsWriter(tmp_path / "persons", STAGE_ORDER, "parquet")
    for log in logs:
        writer.append(log)
    path = writer.close()
    assert path.name == "persons.parquet" and not list(tmp_path.glob(".persons*"))  # the parts are gone
    table = pl.read_parquet(path)
    assert table.columns == PERSONS_HEADER and table.height == 650
    expected = {name: np.concatenate([np.asarray(persons_columns(log, STAGE_ORDER)[name]) for log in logs]) for name in PERSONS_HEADER}
    for name in PERSONS_HEADER:
        values = expected[name]
        if values.dtype.kind == "f":
            # Every bit of each time (CSV rounds to milliseconds); NaN is null.
            read = table[name].to_numpy()
            np.testing.assert_array_equal(np.isnan(read), np.isnan(values), err_msg=name)
            np.testing.assert_array_equal(read[~np.isnan(read)].view(np.int64), values[~np.isnan(values)].view(np.int64))
        elif values.dtype.kind == "O":
            assert table[name].to_list() == text_cells(values), name
        else:
            np.testing.assert_array_equal(table[name].to_numpy(), values, err_msg=name)
    assert table.schema["status"] == pl.String and table.schema["qr"] == pl.Boolean and table.schema["resident"] == pl.Int64


def test_an_empty_persons_parquet_has_the_schema(tmp_path):
    path = PersonsWriter(tmp_path / "persons", STAGE_ORDER, "parquet").close()
    table = pl.read_parquet(path)
    assert table.columns == PERSONS_HEADER and table.height == 0
    assert table.schema["point"] == pl.String and table.schema["arrival_s"] == pl.Float64


def test_write_table_refuses_an_unknown_format(tmp_path):
    with pytest.raises(ValueError, match="unknown table format"):
        write_table(tmp_path, "t", {"a": np.zeros(1)}, "xlsx")


@pytest.mark.parametrize("expected_rows", [0, 10**6])
def test_persons_csv_in_pieces_through_either_writer_keeps_its_bytes(tmp_path, monkeypatch, expected_rows):
    """A table growing past SMALL_TABLE_CELLS (or expected to) goes on through polars: the bytes do not change."""
    rng = np.random.default_rng(4)
    logs = [random_log(rng, name, size) for name, size in (("p1", 500), ("p2", 400), ("p3", 300))]
    monkeypatch.setattr(tables, "SMALL_TABLE_CELLS", 600 * len(PERSONS_HEADER))  # the first log alone is small
    writer = PersonsWriter(tmp_path / "persons", STAGE_ORDER, "csv", expected_rows=expected_rows)
    for log in logs:
        writer.append(log)
    assert writer.close().read_bytes() == reference_persons(logs)
