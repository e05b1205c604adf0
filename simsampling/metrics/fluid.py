"""Fluid stages in series: who has left the last stage by each time, when residents flow through stages
that can each have served at most a given number by then. The advice's headroom model
(advice/headroom.py) reads it eight times or more per chunk of 256 points of a city, so it is a compiled
loop: one pass per stage, where numpy made four (``np.minimum.accumulate`` alone took 5 ns an element,
0.3 s of the Xi'an round's diagnosis). Its numpy twin runs while the loop is interpreted (a first run on
SimPy): the same operations, so the same figures to the bit (tests/unit/test_fluid.py).
"""

from __future__ import annotations

import numpy as np

from .compiled import compiled_loop


def departures_numpy(arrived: np.ndarray, served: np.ndarray, out: np.ndarray) -> np.ndarray:
    """:func:`fluid_departures` on whole arrays: a stage's departures are what it could serve, less what it
    could not for want of residents (the running minimum of min(flow - served, 0))."""
    flow = np.broadcast_to(arrived[:, None, :], out.shape)
    for stage in served:
        np.subtract(flow, stage, out=out)
        np.minimum(out, 0.0, out=out)
        np.minimum.accumulate(out, axis=2, out=out)
        flow = np.add(stage, out, out=out)
    return out


def _example() -> tuple:
    """The smallest call of the headroom's types (C-contiguous float64 arrays): compiled with the others."""
    return np.zeros((1, 2)), np.zeros((1, 1, 1, 2)), np.empty((1, 1, 2))


@compiled_loop(interpreted=departures_numpy, example=_example)
def fluid_departures(arrived: np.ndarray, served: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Cumulative departures from the last stage, into ``out`` ``[point, row, time]``: ``arrived`` ``[point, time]``
    the cumulative arrivals, ``served`` ``[stage, point, row, time]`` what each stage (in walking order) could
    have served by each time. Each comparison as ``np.minimum`` makes it (NaN kept; the first argument the
    running minimum), each sum as ``np.add``, so the figures are :func:`departures_numpy`'s."""
    stages, points, rows, steps = served.shape
    for p in range(points):
        for r in range(rows):
            for t in range(steps):
                out[p, r, t] = arrived[p, t]
            for s in range(stages):
                lowest = 0.0
                for t in range(steps):
                    short = out[p, r, t] - served[s, p, r, t]
                    if not (short < 0.0 or short != short):  # np.minimum(short, 0.0)
                        short = 0.0
                    if t > 0 and (lowest < short or lowest != lowest):  # np.minimum.accumulate
                        short = lowest
                    lowest = short
                    out[p, r, t] = served[s, p, r, t] + short
    return out
