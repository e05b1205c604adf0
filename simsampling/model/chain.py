"""The sample chain of a round: sealed tubes -> couriers -> laboratories -> results -> recalls.

It runs once per replication, after every point has been simulated, because
couriers and laboratories are shared between points. Its input is each
point's tubes (when sealed, who is in them); its output is when every tube
was picked up, reached its laboratory, started its run and had its result
released, plus the recalls of positive pools.

* A courier serves a group of ``per_points`` points. It visits a point every
  ``pickup_interval_min`` from the point's opening and whenever a full box
  (``box_tubes``) of sealed tubes waits; a trip is the drive to the point and
  on to the laboratory (two draws of the point's travel time), taking every
  tube sealed by the time it gets there.
* A laboratory runs batches of tubes on its instruments: a run starts when an
  instrument is free, during a shift, and either ``tubes_per_run`` tubes wait
  or the oldest has waited ``max_wait_min``. Re-sampled single tubes go first
  in the next run (they do not start a run of their own).
* A pool is positive if any member is infected. Its members are recalled when
  the result is released, swabbed again alone after their recall delay, and
  the single tube goes straight to the laboratory (one travel time). With
  pools of one, an infected resident is identified by the first result.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np
import simpy

from ..log import EventLog
from ..random import sample, stream
from ..scenario.schema import DAY_S, Lab, Scenario, clock_seconds


@dataclass
class PointTubes:
    """What a point hands to the chain for one replication."""

    point_index: int
    opens_s: float
    opened_s: np.ndarray
    sealed_s: np.ndarray
    members: np.ndarray
    member_tube: np.ndarray
    member_swab_s: np.ndarray
    member_infected: np.ndarray
    member_recall_s: np.ndarray

    @classmethod
    def of(cls, log: EventLog, point_index: int) -> "PointTubes":
        served = log.served & (log.tube >= 0)
        infected = log.infected[served] if log.infected is not None else np.zeros(int(served.sum()), dtype=bool)
        recall = log.recall_s[served] if log.recall_s is not None else np.zeros(int(served.sum()))
        return cls(
            point_index=point_index,
            opens_s=log.hours[0][0] + log.setup_s,
            opened_s=log.tubes.opened_s,
            sealed_s=log.tubes.sealed_s,
            members=log.tubes.members,
            member_tube=log.tube[served].astype(np.int64),
            member_swab_s=log.finish_s[served],
            member_infected=infected,
            member_recall_s=recall,
        )

    @property
    def positive(self) -> np.ndarray:
        hits = np.zeros(self.sealed_s.size, dtype=bool)
        hits[self.member_tube[self.member_infected]] = True
        return hits


@dataclass
class ChainLog:
    """Timestamps of the chain in one replication (seconds since midnight of day 0).

    Tubes of all points are concatenated in point order (``tube_point``);
    recalls are one row per re-sampled resident.
    """

    tube_point: np.ndarray
    tube_lab: np.ndarray
    opened_s: np.ndarray
    sealed_s: np.ndarray
    members: np.ndarray
    picked_s: np.ndarray
    arrived_s: np.ndarray
    run_start_s: np.ndarray
    released_s: np.ndarray
    positive: np.ndarray
    member_tube: np.ndarray
    member_swab_s: np.ndarray
    member_infected: np.ndarray
    recall_positive_tube: np.ndarray
    recall_swab_s: np.ndarray
    recall_arrived_s: np.ndarray
    recall_released_s: np.ndarray
    recall_infected: np.ndarray
    recall_first_swab_s: np.ndarray
    recall_run_start_s: np.ndarray
    trips: list[tuple[int, float, float, int]] = field(default_factory=list)
    runs: list[tuple[int, float, float, int]] = field(default_factory=list)
    labs: list[Lab] = field(default_factory=list)


class _Draws:
    """Travel times of one point, drawn in batches from its own stream as trips happen."""

    def __init__(self, dist, rng: np.random.Generator):
        self.dist, self.rng, self.values = dist, rng, deque()

    def next(self) -> float:
        if not self.values:
            self.values.extend((60.0 * sample(self.dist, self.rng, 64)).tolist())
        return self.values.popleft()


IDLE_VISITS = 100_000
"""Visits in a row that find nothing sealed, simulated one by one: beyond, the courier comes straight to the
first visit at or after the next tube is sealed (a tube sealed years later, a visit every 1e-300 minutes)."""


def next_visit(tick: float, now: float, interval: float) -> float:
    """The courier's next visit once the one due at ``tick`` is past at ``now``: ``tick`` plus the intervals
    gone by (at least one); one step of the clock later where the interval is below the clock's resolution
    there (added, it would change nothing, and the visits would never move on)."""
    missed = (now - tick) / interval
    following = tick + interval * max(1, math.floor(missed) + 1) if missed < 2**53 else now + interval
    return following if following > tick else math.nextafter(max(tick, now), math.inf)


def first_useful_visit(tick: float, sealed_s: float, interval: float) -> float:
    """The visit due at ``tick`` while the next tube is sealed at ``sealed_s``; more than ``IDLE_VISITS``
    visits before it, the first at or after it (visits that find nothing change nothing)."""
    ahead = (sealed_s - tick) / interval
    if not ahead > IDLE_VISITS:
        return tick
    return max(sealed_s, tick + math.ceil(ahead) * interval) if ahead < 2**53 else sealed_s


def shift_windows(lab: Lab, days: int) -> list[tuple[float, float]]:
    """When runs may start: each shift on every day of the round and three days after."""
    if not lab.shifts:
        return [(-math.inf, math.inf)]
    return sorted(
        (day * DAY_S + clock_seconds(s.start), day * DAY_S + clock_seconds(s.end)) for day in range(days + 3) for s in lab.shifts
    )


def simulate_chain(scenario: Scenario, replication: int, parts: list[PointTubes]) -> ChainLog:
    chain = scenario.chain
    labs = chain.labs
    lab_index = {lab.id: index for index, lab in enumerate(labs)}
    offsets = np.cumsum([0] + [p.sealed_s.size for p in parts])
    tubes = int(offsets[-1])
    picked = np.full(tubes, np.nan)
    arrived = np.full(tubes, np.nan)
    run_start = np.full(tubes, np.nan)
    released = np.full(tubes, np.nan)
    tube_lab = np.zeros(tubes, dtype=np.int32)
    positive = np.concatenate([p.positive for p in parts]) if parts else np.zeros(0, dtype=bool)
    members = np.concatenate([p.members for p in parts]) if parts else np.zeros(0, dtype=np.int64)
    recalls: list[list[float]] = []  # [positive tube, swab, arrived, released, infected, first swab, run start]
    trips: list[tuple[int, float, float, int]] = []
    runs: list[tuple[int, float, float, int]] = []

    env = simpy.Environment(initial_time=min([0.0] + [float(p.opened_s.min()) for p in parts if p.opened_s.size]))
    queues = [deque() for _ in labs]  # tube numbers waiting; recalls use negative numbers
    urgent = [deque() for _ in labs]
    wakeups = [env.event() for _ in labs]
    instruments = [simpy.Resource(env, lab.instruments) for lab in labs]
    windows = [shift_windows(lab, scenario.round.days) for lab in labs]
    waiting_since: dict[int, float] = {}

    def deliver(lab: int, numbers: list[int], urgent_tubes: bool = False) -> None:
        for number in numbers:
            waiting_since[number] = env.now
            if number >= 0:
                arrived[number] = env.now
        (urgent if urgent_tubes else queues)[lab].extend(numbers)
        if not wakeups[lab].triggered:
            wakeups[lab].succeed()

    def next_window_start(lab: int) -> float:
        for start, end in windows[lab]:
            if env.now < end:
                return max(start, env.now)
        return math.inf

    def release(lab: int, batch: list[int]) -> None:
        for number in batch:
            if number >= 0:
                released[number] = env.now
                if positive[number] and members[number] > 1:  # a pool of one identifies by itself
                    start_recalls(lab, number)
            else:
                recalls[-number - 1][3] = env.now

    def run(lab: int, batch: list[int], request):
        started = env.now
        for number in batch:
            if number >= 0:
                run_start[number] = started
            else:
                recalls[-number - 1][6] = started
        yield env.timeout(labs[lab].run_min * 60.0)
        instruments[lab].release(request)
        runs.append((lab, started, env.now, len(batch)))
        release(lab, batch)

    def laboratory(lab: int):
        config = labs[lab]
        per_run = config.tubes_per_run
        while True:
            waiting = len(queues[lab]) + len(urgent[lab])
            if not waiting:
                wakeups[lab] = env.event()
                yield wakeups[lab]
                continue
            oldest = min(waiting_since[q[0]] for q in (urgent[lab], queues[lab]) if q)
            due = oldest + config.max_wait_min * 60.0
            if waiting < per_run and env.now < due:
                wakeups[lab] = env.event()
                yield wakeups[lab] | env.timeout(due - env.now)
                continue
            opens = next_window_start(lab)
            if opens > env.now:
                if math.isinf(opens):
                    return  # no shift left: the tubes still waiting get no result
                yield env.timeout(opens - env.now)
                continue
            request = instruments[lab].request()
            yield request
            if next_window_start(lab) > env.now:  # the shift ended while waiting for an instrument
                instruments[lab].release(request)
                continue
            batch = []
            for q in (urgent[lab], queues[lab]):
                while q and len(batch) < per_run:
                    batch.append(q.popleft())
            if not batch:
                instruments[lab].release(request)
                continue
            env.process(run(lab, batch, request))

    travel: dict[int, _Draws] = {}

    def travel_time(part: PointTubes) -> float:
        if part.point_index not in travel:
            point = scenario.points[part.point_index]
            dist = point.courier_travel_min or chain.couriers.travel_min
            travel[part.point_index] = _Draws(dist, stream(scenario.seed, replication, point.id, "courier"))
        return travel[part.point_index].next()

    def start_recalls(lab: int, number: int) -> None:
        part_index = int(np.searchsorted(offsets, number, side="right") - 1)
        part = parts[part_index]
        local = number - offsets[part_index]
        for member in np.flatnonzero(part.member_tube == local).tolist():
            recalls.append([number, math.nan, math.nan, math.nan, bool(part.member_infected[member]), float(part.member_swab_s[member]), math.nan])
            env.process(resample(lab, part, len(recalls) - 1, float(part.member_recall_s[member])))

    def resample(lab: int, part: PointTubes, row: int, delay: float):
        yield env.timeout(delay)
        recalls[row][1] = env.now
        yield env.timeout(travel_time(part))
        recalls[row][2] = env.now
        deliver(lab, [-row - 1], urgent_tubes=True)

    couriers_per = scenario.points_per_courier
    couriers = [simpy.Resource(env, 1) for _ in range(-(-len(scenario.points) // couriers_per))]
    interval = chain.couriers.pickup_interval_min * 60.0
    box = chain.couriers.box_tubes

    def pickups(part: PointTubes, base: int):
        lab = lab_index[scenario.lab_for(scenario.points[part.point_index]).id]
        order = np.argsort(part.sealed_s, kind="stable")
        sealed = part.sealed_s[order]
        tube_lab[base + order] = lab
        collected = 0
        tick = part.opens_s + interval
        while collected < sealed.size:
            full_at = sealed[collected + box - 1] if collected + box <= sealed.size else math.inf
            when = max(min(tick, full_at), env.now)
            if when > env.now:
                yield env.timeout(when - env.now)
            if env.now >= tick:
                tick = next_visit(tick, env.now, interval)
            if sealed[collected] > env.now:  # nothing sealed yet
                tick = first_useful_visit(tick, float(sealed[collected]), interval)
                continue
            courier = couriers[part.point_index // couriers_per]
            request = courier.request()
            yield request
            yield env.timeout(travel_time(part))  # to the point
            ready = int(np.searchsorted(sealed, env.now, side="right"))
            load = (base + order[collected:ready]).tolist()
            picked[load] = env.now
            left_at = env.now
            collected = ready
            yield env.timeout(travel_time(part))  # on to the laboratory
            courier.release(request)
            trips.append((part.point_index, left_at, env.now, len(load)))
            deliver(lab, load)

    for lab in range(len(labs)):
        env.process(laboratory(lab))
    for index, part in enumerate(parts):
        env.process(pickups(part, int(offsets[index])))
    env.run()

    rows = np.asarray(recalls, dtype=float).reshape(-1, 7)
    return ChainLog(
        tube_point=np.repeat([p.point_index for p in parts], [p.sealed_s.size for p in parts]).astype(np.int32),
        tube_lab=tube_lab,
        opened_s=np.concatenate([p.opened_s for p in parts]) if parts else np.zeros(0),
        sealed_s=np.concatenate([p.sealed_s for p in parts]) if parts else np.zeros(0),
        members=members,
        picked_s=picked,
        arrived_s=arrived,
        run_start_s=run_start,
        released_s=released,
        positive=positive,
        member_tube=np.concatenate([p.member_tube + offsets[i] for i, p in enumerate(parts)]) if parts else np.zeros(0, dtype=np.int64),
        member_swab_s=np.concatenate([p.member_swab_s for p in parts]) if parts else np.zeros(0),
        member_infected=np.concatenate([p.member_infected for p in parts]) if parts else np.zeros(0, dtype=bool),
        recall_positive_tube=rows[:, 0].astype(np.int64),
        recall_swab_s=rows[:, 1],
        recall_arrived_s=rows[:, 2],
        recall_released_s=rows[:, 3],
        recall_infected=rows[:, 4].astype(bool),
        recall_first_swab_s=rows[:, 5],
        recall_run_start_s=rows[:, 6],
        trips=trips,
        runs=runs,
        labs=list(labs),
    )
