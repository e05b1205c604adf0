"""kpis.csv's columns, built a scope at a time in pieces (report.files.kpis_pieces): the rows a row-by-row build gives."""

from __future__ import annotations

import pytest

from simsampling.metrics import flatten
from simsampling.report.files import KPIS_HEADER, kpis_pieces, write_kpis
from simsampling.tables import write_rows


def leaf(mean, ci95=None, n=1):
    return {"mean": mean, "ci95": ci95, "n": n}


def summary_like(points: int) -> dict:
    def tree(k: int) -> dict:
        return {"sampled": leaf(float(100 + k)), "finish_h": leaf(10.5 + k, [10.0 + k, 11.0 + k], 3),
                "wait_min": {"total": {"p90": leaf(None, None, 0), "mean": leaf(2.25)}, "swab": {"p90": leaf(1e-9)}},
                "utilization": {"swab": leaf(0.5 + k / 1000)} if k % 2 else {}}

    return {"kpis": tree(-1), "points": [{"id": f"p-{k}", "kpis": tree(k)} for k in range(points)]}


def rows_of(summary: dict) -> list[tuple]:
    """The rows as kpis.csv had them built, one at a time."""
    rows = []
    for scope, point, tree in [("run", "", summary["kpis"])] + [("point", p["id"], p["kpis"]) for p in summary["points"]]:
        for name, value in flatten(tree).items():
            low, high = value["ci95"] if value["ci95"] else (None, None)
            rows.append((scope, point, name, value["mean"], low, high, value["n"]))
    return rows


@pytest.mark.parametrize("rows_at_once", [1, 4, 13, 10**6])
def test_pieces_hold_whole_scopes_and_join_into_the_rows(rows_at_once):
    summary = summary_like(9)
    pieces = list(kpis_pieces(summary, rows_at_once))
    assert all(len(column) == len(piece[0]) for piece in pieces for column in piece)
    assert all(len(piece[0]) >= rows_at_once for piece in pieces[:-1])
    joined = [row for piece in pieces for row in zip(*piece)]
    assert joined == rows_of(summary)
    # A piece ends with a scope: the next piece starts a scope's first KPI.
    assert all(piece[2][0] == "sampled" for piece in pieces)


def test_scopes_without_intervals_join_into_the_rows():
    """One replication (a city's round): no interval in a scope, or in some scopes only."""
    summary = summary_like(7)
    for index, point in enumerate(summary["points"]):
        if index % 3:
            point["kpis"]["finish_h"] = leaf(10.5, None, 1)
    joined = [row for piece in kpis_pieces(summary, 5) for row in zip(*piece)]
    assert joined == rows_of(summary)
    assert any(row[4] is None for row in joined) and any(row[4] is not None for row in joined)


def test_kpis_csv_is_the_table_of_those_rows(tmp_path):
    summary = summary_like(30)
    write_kpis(summary, tmp_path)
    write_rows(tmp_path / "reference.csv", KPIS_HEADER, rows_of(summary))
    assert (tmp_path / "kpis.csv").read_bytes() == (tmp_path / "reference.csv").read_bytes()


def test_a_leaf_is_found_by_its_path_as_in_the_flattened_tree():
    from simsampling.report.files import POINT_COLUMNS, leaf_at

    tree = summary_like(3)["points"][1]["kpis"]
    tree["queue_max"] = {"total": leaf(7.0), "swab": leaf(3.0)}
    flat = flatten(tree)
    paths = [path for _, path in POINT_COLUMNS] + list(flat) + ["finish_h.mean", "wait_min.total", "nothing.here", "wait_min"]
    for path in paths:
        assert leaf_at(tree, path.split(".")) == flat.get(path), path


def test_points_csv_shows_each_points_leaves(tmp_path):
    import csv

    from simsampling.report.files import POINT_COLUMNS, write_points

    summary = summary_like(4)
    for k, point in enumerate(summary["points"]):
        point.update(name=point["id"], population=100, tents=1, stations=2)
    write_points(summary, tmp_path)
    rows = list(csv.DictReader((tmp_path / "points.csv").open(newline="")))
    assert [row["point"] for row in rows] == ["p-3", "p-2", "p-1", "p-0"]  # slowest first
    for row in rows:
        flat = flatten(next(p for p in summary["points"] if p["id"] == row["point"])["kpis"])
        for column, path in POINT_COLUMNS:
            mean = flat[path]["mean"] if flat.get(path) else None
            assert row[column] == ("" if mean is None else f"{mean:.10g}"), (column, row[column])
