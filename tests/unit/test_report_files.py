"""report/files.py: tables of a run that are built in place, held to the straightforward way."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from simsampling.log import clock_text
from simsampling.report import files
from simsampling.tables import write_csv

values = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(0, 50).map(float))


def _queue_by_point_long_way(result, folder: Path, start: int, end: int) -> None:
    """queue_by_point.csv as it was written: each point's mean padded with its last value by ``np.pad``."""
    step_min = result.step_s / 60.0
    header = ["point"] + [clock_text(step * step_min * 60.0)[:-3] for step in range(start, end)]
    means = []
    for point in result.scenario.points:
        mean = result.point_bands[point.id].queue_total.mean
        padded = np.pad(mean, (0, max(0, end - mean.size)), mode="edge") if mean.size else np.zeros(end)
        means.append(padded[start:end])
    table = np.array(means, dtype=float).reshape(len(means), end - start)
    write_csv(folder / "queue_by_point.csv", header, [[point.id for point in result.scenario.points], *table.T])


@settings(max_examples=60, deadline=None)
@given(series=st.lists(st.lists(values, max_size=12), max_size=5), start=st.integers(0, 14), width=st.integers(0, 8))
def test_queue_by_point_holds_each_points_last_value_as_np_pad_does(tmp_path_factory, series, start, width):
    """Series shorter than the window, longer, empty, starting after the window's start; NaN and infinities."""
    points = [SimpleNamespace(id=f"p{index}") for index in range(len(series))]
    result = SimpleNamespace(
        scenario=SimpleNamespace(points=points), step_s=900.0, run_bands=None,
        point_bands={point.id: SimpleNamespace(queue_total=SimpleNamespace(mean=np.array(values, dtype=float)))
                     for point, values in zip(points, series)})
    end = start + width
    here, there = tmp_path_factory.mktemp("here"), tmp_path_factory.mktemp("there")
    window = files.active_window
    files.active_window = lambda bands: (start, end)
    try:
        files.write_queue_by_point(result, here)
    finally:
        files.active_window = window
    _queue_by_point_long_way(result, there, start, end)
    assert (here / "queue_by_point.csv").read_bytes() == (there / "queue_by_point.csv").read_bytes()
