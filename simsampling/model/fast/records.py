"""What the fast engine's kernel takes: a few named records of arrays (numba compiles namedtuples
of arrays and scalars as plain structs: a field is found at compile time, costing nothing)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

POOL, PAIRED, SWAB = 0, 1, 2
"""How a stage serves in the kernel (``stages.POOL``; registration paired with the stations; the stations)."""
STARTED, OPENED, ASK, WAITED, SERVED, SAMPLER_WAIT, SWAB_START, FREE, DONE = 0, 1, 2, 3, 4, 5, 6, 7, 15
"""Where a resident's process stands at its stage (``rs[STATE]`` is ``stage << 4 | phase``): arrived,
let in, asking for a server or station, its request resolved, served; paired, its wait for the
sampler resolved; at the station; disinfecting; gone."""
PHASE = 15


def floats(values) -> np.ndarray:
    """An array the kernel reads as float64, contiguous."""
    return np.ascontiguousarray(values, dtype=np.float64)


class Residents(NamedTuple):
    """Per resident, in arrival order: inputs. Empty arrays for what the point does not have."""

    arrival: np.ndarray
    day: np.ndarray
    admitted: np.ndarray  # indices of the residents admitted (arrived by their day's closing)
    service: np.ndarray  # stages x residents: service times
    route: np.ndarray  # stages x residents: the stage a resident is diverted to after each (-1: none)
    rank: np.ndarray  # priority class (0 priority, 1 other), with a green channel
    lane: np.ndarray  # station lane (0 everyone else's, 1 the green channel's, 2 reserved)
    disinfect: np.ndarray
    threshold: np.ndarray
    returns: np.ndarray
    return_s: np.ndarray
    patience: np.ndarray


class Layout(NamedTuple):
    """The point: its days, its flow and its stations."""

    opens_at: np.ndarray
    opening_time: np.ndarray  # each opening's timeout, as SimPy lands it
    day_close: np.ndarray
    start_time: float
    kind: np.ndarray  # per stage: POOL, PAIRED or SWAB
    resource: np.ndarray  # per stage: its pool of servers (POOL), else -1
    side: np.ndarray  # per stage: a side stage (reached by a divert)
    stations: int
    shared: bool  # one shared line (else a line per station)
    paired: bool  # registrars paired with the stations
    first_sampler: int  # resources: the stages' pools, then each station's sampler, then its registrar
    lane_lo: np.ndarray  # per lane: its first station and one past its last
    lane_hi: np.ndarray
    station_lane: np.ndarray


class Closures(NamedTuple):
    """Staff closures, in the staff plan's order: the stage and slot closed, when, and how long."""

    stage: np.ndarray
    slot: np.ndarray
    due: np.ndarray
    end: np.ndarray
    length: np.ndarray
    is_break: np.ndarray


class Results(NamedTuple):
    """What the kernel writes, prefilled for residents who never get anywhere."""

    start: np.ndarray  # stages x residents
    end: np.ndarray
    arrived: np.ndarray
    left_s: np.ndarray
    station: np.ndarray
    left: np.ndarray
    left_stage: np.ndarray
    balks: np.ndarray
    row_closure: np.ndarray  # the closure rows, in the order SimPy records them
    row_times: np.ndarray  # (began, ended) of each row


class Work(NamedTuple):
    """The kernel's workspace (layouts in ``lines.py``), initialised by ``engine.workspace``."""

    rs: np.ndarray
    rf: np.ndarray
    res: np.ndarray
    q_head: np.ndarray
    q_tail: np.ndarray
    b_next: np.ndarray  # per closure: the next blocker waiting for the same resource
    sta: np.ndarray
    items: np.ndarray  # per lane's pool: its free stations, a ring of ``slots``
    pool_span: np.ndarray
    slots: int
    c_state: np.ndarray
    c_began: np.ndarray
    o_head: np.ndarray  # per day: residents waiting for the opening
    o_tail: np.ndarray
    urgent: np.ndarray  # process starts at the current instant
    ring: np.ndarray  # other events of the current instant
