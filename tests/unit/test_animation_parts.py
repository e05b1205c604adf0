"""The animation's parts: the flow of each layout, server numbers where the log has none, places, caps, texts."""

from __future__ import annotations

import json

import numpy as np
import pytest

from simsampling.animation import AnimationError
from simsampling.animation.build import clock, parse_clock
from simsampling.animation.frames import assign_servers
from simsampling.animation.layout import MAIN_LINE_MAX, MAX_DRAWN, caps, serpentine
from simsampling.animation.page import json_for_script
from simsampling.flow import stage_flow
from simsampling.scenario.schema import Point


def lines(point: dict) -> list[tuple]:
    return [(s["name"], s["servers"], s["line"], s["server_column"], s["at_station"])
            for s in stage_flow(Point.model_validate({"id": "p", "population": 10, "tents": 3, **point}))]


def test_each_layout_says_where_residents_wait():
    assert lines({}) == [("temperature", 1, "shared", None, False), ("registration", 3, "shared", "station", True),
                         ("swab", 3, "at_previous", "station", False)]
    assert lines({"queue": "per_tent"})[1:] == [("registration", 3, "per_station", "station", True),
                                                ("swab", 3, "at_previous", "station", False)]
    desks = {"stages": {"registration": {"servers": 2}, "swab": {"servers": 5}}}
    assert lines(desks) == [("registration", 2, "shared", None, False), ("swab", 5, "shared", "station", False)]
    assert lines({**desks, "queue": "per_tent"})[1] == ("swab", 5, "per_station", "station", False)
    assert lines({"stages": {"swab": {}}}) == [("swab", 3, "shared", "station", False)]


def busy_spans(seed: int, count: int, servers: int) -> tuple[np.ndarray, np.ndarray]:
    """Starts and ends of a FIFO line with ``servers`` servers (never more in service at once)."""
    rng = np.random.default_rng(seed)
    arrivals = np.cumsum(rng.exponential(10.0, count))
    free = np.zeros(servers)
    start, end = np.empty(count), np.empty(count)
    for i, arrival in enumerate(arrivals):
        k = int(np.argmin(free))
        start[i] = max(arrival, free[k])
        end[i] = free[k] = start[i] + rng.exponential(25.0)
    return start, end


def overlaps(number: np.ndarray, start: np.ndarray, end: np.ndarray) -> bool:
    for k in np.unique(number[number >= 0]):
        mine = np.argsort(start[number == k])
        if np.any(start[number == k][mine][1:] < end[number == k][mine][:-1]):
            return True
    return False


@pytest.mark.parametrize("seed", range(5))
def test_servers_are_given_without_overlap(seed):
    start, end = busy_spans(seed, 400, 3)
    start[::17] = np.nan  # residents never served
    number = assign_servers(start, end, 3)
    served = ~np.isnan(start)
    assert (number[served] >= 0).all() and (number[served] < 3).all() and (number[~served] == -1).all()
    assert not overlaps(number, start, end)
    known = np.where(np.arange(start.size) % 3 == 0, number, -1)  # some known, the rest found around them
    again = assign_servers(start, end, 3, known)
    assert (again[known >= 0] == known[known >= 0]).all()
    assert (again[served] >= 0).all() and not overlaps(again, start, end)


def test_places_and_caps():
    places = serpentine(100, 50, 100, 30, 10.0)  # ten places a row, the front at the top right
    assert len(set(places)) == 30 and places[0] == (195.0, 55.0) and places[9] == (105.0, 55.0)
    assert places[10] == (105.0, 65.0)  # the second row snakes back
    wanted = caps({("line", 0): 20_000, ("line", 1): 9_000, ("exit",): 80, ("server", 0, 0): 1}, main_line=0, area=200)
    assert wanted[("line", 0)] == MAIN_LINE_MAX and sum(wanted.values()) <= MAX_DRAWN
    assert caps({("line", 0): 12}, main_line=0, area=200)[("line", 0)] == 200  # the whole area is drawn


def test_clock_texts():
    assert parse_clock("07:30", "--from") == 27_000.0 and parse_clock("31:00", "--to") == 111_600.0
    for bad in ("7h", "07:60", ":30", "07:30:00", ""):
        with pytest.raises(AnimationError, match="--from"):
            parse_clock(bad, "--from")
    assert clock(27_000.0) == "07:30" and clock(111_630.0, with_seconds=True) == "+1d 07:00:30"


def test_data_cannot_close_its_script_element():
    value = {"name": "</script><script>alert(1)</script> & <!-- 点"}
    text = json_for_script(value)
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == value
