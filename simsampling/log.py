"""The event log: one row per resident who came, one column per timestamp.

It is the only thing a model hands on; metrics, charts and the persons table
are all computed from it. Times are seconds since midnight of the day.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Hashable, Optional, Sequence

import numpy as np

from .scenario.schema import DAY_S
from .staffing import StaffPlan
from .stages import union


@dataclass
class HomeLog:
    """Residents sampled at home by door-to-door teams (NaN times: never visited)."""

    resident: np.ndarray
    household: np.ndarray
    team: np.ndarray
    start_s: np.ndarray
    end_s: np.ndarray
    teams: int
    team_size: int

    @property
    def served(self) -> np.ndarray:
        return ~np.isnan(self.end_s)

    @property
    def sampled(self) -> int:
        return int(np.count_nonzero(self.served))

    @property
    def visits(self) -> int:
        """Households visited."""
        return len(set(self.household[self.served].tolist()))


@dataclass
class TubeLog:
    """Pooled tubes of a point: station, when opened (first swab) and sealed, residents in each."""

    station: np.ndarray
    opened_s: np.ndarray
    sealed_s: np.ndarray
    last_swab_s: np.ndarray
    members: np.ndarray

    def handling_s(self, ratio: int) -> float:
        """Sampler time spent sealing full tubes (a part-filled one is sealed while idle)."""
        full = self.members == ratio
        return float((self.sealed_s - self.last_swab_s)[full].sum())

    @property
    def count(self) -> int:
        return int(self.opened_s.size)


@dataclass
class ClosureLog:
    """When staff absence actually closed a slot (a station, desk or entrance server).

    ``scheduled_s`` is when the rota said so, ``start_s`` when the slot
    stopped serving (its resident, or at a shift's end its line, done);
    ``end_s`` when it took residents again (infinite: closed to the end).
    """

    role: np.ndarray
    slot: np.ndarray
    scheduled_s: np.ndarray
    start_s: np.ndarray
    end_s: np.ndarray
    reason: np.ndarray

    @classmethod
    def of(cls, rows: list[tuple[str, int, float, float, float, str]]) -> "ClosureLog":
        role, slot, scheduled, start, end, reason = zip(*rows) if rows else ((), (), (), (), (), ())
        return cls(
            role=np.asarray(role, dtype=object),
            slot=np.asarray(slot, dtype=np.int32),
            scheduled_s=np.asarray(scheduled, dtype=float),
            start_s=np.asarray(start, dtype=float),
            end_s=np.asarray(end, dtype=float),
            reason=np.asarray(reason, dtype=object),
        )

    def __reduce__(self):
        # Most points close no slot: six empty arrays, two of objects, which pickle slowly (12 us of a Xi'an
        # point's 110), sent as their types alone.
        arrays = [getattr(self, name) for name in _CLOSURE_FIELDS]
        if any(array.size for array in arrays):
            return ClosureLog, tuple(arrays)
        return _no_closures, tuple(array.dtype.str for array in arrays)

    def late_leaving_s(self) -> dict[str, float]:
        """Per role, staff-seconds worked past a shift's end to serve a line out."""
        if not self.start_s.size:  # (most points close nothing: their empty arrays' operations cost microseconds each)
            return {}
        late = (self.reason == "off_duty") & (self.start_s > self.scheduled_s)
        return {role: float((self.start_s - self.scheduled_s)[late & (self.role == role)].sum()) for role in set(self.role[late])}

    def closed_s(self, role: str, spans: list[tuple[float, float]]) -> float:
        """Slot-seconds of ``role`` closed within the given (start, end) spans."""
        if not self.start_s.size:
            return 0.0
        mine = self.role == role
        start, end = self.start_s[mine], self.end_s[mine]
        total = 0.0
        for open_s, close_s in spans:
            total += float(np.clip(np.minimum(end, close_s) - np.maximum(start, open_s), 0.0, None).sum())
        return total


_CLOSURE_FIELDS = ("role", "slot", "scheduled_s", "start_s", "end_s", "reason")


def _no_closures(*types: str) -> ClosureLog:
    """An empty closure log, its arrays of these types (``ClosureLog.__reduce__``)."""
    return ClosureLog(*(np.empty(0, kind) for kind in types))


STATUSES = ("sampled", "unserved", "balked", "reneged", "diverted")
"""What became of a resident who came: sampled; arrived after closing; left on
seeing the line (and did not come back, or balked again); left the line; sent
to a side stage (an isolation area) and left from there unswabbed."""
STAYED, BALKED, RENEGED, DIVERTED = 0, 1, 2, 3
"""Codes of ``EventLog.left``."""


@dataclass
class EventLog:
    """Timestamps of one point in one replication.

    ``flow`` are the point's stages in flow order (the main flow, ending with
    ``swab``, then the side stages; ``stages``); ``start[stage]`` / ``end[stage]`` exist for
    each and are NaN for residents who did not get there (arrived after
    closing, gave up, were diverted). ``servers[stage]`` is the number of
    servers of the stage. ``sources[side]`` are the stages that divert
    residents to a side stage. ``left_stage`` is an index into ``stages``.

    A log is final once its model hands it on: the metrics of a point share
    what they derive from it (``derived``), so a changed log is a new one
    (``dataclasses.replace``), not an edited one.
    """

    point_id: str
    replication: int
    open_s: float
    close_s: float
    population: int
    no_show: int
    servers: dict[str, int]
    resident: np.ndarray
    arrival_s: np.ndarray
    qr: np.ndarray
    served: np.ndarray
    station: np.ndarray
    start: dict[str, np.ndarray] = field(default_factory=dict)
    end: dict[str, np.ndarray] = field(default_factory=dict)
    day: Optional[np.ndarray] = None
    hours: Optional[list[tuple[float, float]]] = None
    setup_s: float = 0.0
    not_called: int = 0
    home: Optional[HomeLog] = None
    tube: Optional[np.ndarray] = None
    tubes: Optional[TubeLog] = None
    infected: Optional[np.ndarray] = None
    recall_s: Optional[np.ndarray] = None
    pool_ratio: int = 0
    left: Optional[np.ndarray] = None
    left_s: Optional[np.ndarray] = None
    left_stage: Optional[np.ndarray] = None
    balks: Optional[np.ndarray] = None
    priority: Optional[np.ndarray] = None
    overhead_s: Optional[np.ndarray] = None
    closures: Optional[ClosureLog] = None
    plan: Optional[StaffPlan] = None
    waiting_capacity: Optional[int] = None
    flow: tuple[str, ...] = ()
    sources: dict[str, tuple[str, ...]] = field(default_factory=dict)
    _derived: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        count = self.arrival_s.size
        if self.day is None:
            self.day = np.zeros(count, dtype=np.int16)
        if self.hours is None:
            self.hours = [(self.open_s, self.close_s)]
        if self.left is None:
            self.left = np.zeros(count, dtype=np.int8)
        if self.left_s is None:
            self.left_s = np.full(count, np.nan)
        if self.left_stage is None:
            self.left_stage = np.full(count, -1, dtype=np.int8)
        if self.balks is None:
            self.balks = np.zeros(count, dtype=np.int8)

    def __getstate__(self) -> dict:
        """Pickled without what was derived from it: a log crosses processes at its own size."""
        return {**self.__dict__, "_derived": {}}

    def derived(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """``compute()`` the first time ``key`` is asked of this log, then the same value.

        The tally, series, checks and timeline of a point need the same lines,
        sorted times and overtime; each is computed once per log.
        """
        try:
            return self._derived[key]
        except KeyError:
            value = self._derived[key] = compute()
            return value

    def forget_derived(self) -> None:
        """Drop what was derived from it: a log kept after its point is measured holds its own arrays only."""
        self._derived.clear()

    @property
    def balked(self) -> np.ndarray:
        """Residents who left on seeing the line (and did not come back, or balked again)."""
        return self.left == BALKED

    @property
    def reneged(self) -> np.ndarray:
        """Residents who joined a line and left it before their swab."""
        return self.left == RENEGED

    @property
    def any_reneged(self) -> bool:
        """Whether anyone left a line (found once per log: at most points nobody does, and their lines skip the masks)."""
        return self.derived("any_reneged", lambda: bool(self.reneged.any()))

    @property
    def diverted(self) -> np.ndarray:
        """Residents sent to a side stage, who left from there unswabbed."""
        return self.left == DIVERTED

    @property
    def stages(self) -> tuple[str, ...]:
        """The point's stages in flow order (a log made by hand without ``flow``: temperature,
        registration, the other stages as given, swab)."""
        if self.flow:
            return self.flow
        known = [stage for stage in ("temperature", "registration") if stage in self.start]
        return tuple(known + [stage for stage in self.start if stage not in known and stage != "swab"] + ["swab"])

    @property
    def main(self) -> tuple[str, ...]:
        """The main flow: the stages up to and including swab."""
        return self.stages[: self.stages.index("swab") + 1]

    @property
    def side(self) -> tuple[str, ...]:
        """The side stages, reached by a divert."""
        return self.stages[self.stages.index("swab") + 1:]

    def status(self) -> np.ndarray:
        """One of ``STATUSES`` per resident who came."""
        return np.asarray(STATUSES, dtype=object)[np.where(self.served, 0, np.where(self.left > 0, self.left + 1, 1))]

    @property
    def everyone_counted(self) -> bool:
        """Whether every resident who came was swabbed, with no side stage (found once per log; most points): then
        each is counted at every stage and stood in every line, and a stage's values need no mask."""
        return self.derived("everyone_counted", lambda: not self.sources and bool(self.served.all()))

    def through(self, stage: str) -> np.ndarray:
        """Residents counted at ``stage`` (waits, service, busy servers): at a stage of the main
        flow those swabbed and those diverted after getting through it; at a side stage, those
        who went through it."""
        if stage in self.sources:
            return np.isfinite(self.end[stage])
        if not self.sources:
            return self.served
        return self.served | (self.diverted & np.isfinite(self.end[stage]))

    def line(self, stage: str) -> tuple[np.ndarray, np.ndarray]:
        """(joined, left) of everyone who stood in the line of ``stage``.

        A resident stands in it from ``enter(stage)`` to its start there, or to
        leaving it (reneging). Those who got through it and left a later line
        count here too; a served resident with a NaN time stays in (and shows).
        """

        def compute() -> tuple[np.ndarray, np.ndarray]:
            enter, start = self.enter(stage), self.start[stage]
            if self.everyone_counted:  # everyone stood in it: the log's own times, read-only
                return _read_only(enter), _read_only(start)
            stood = np.isfinite(start) if stage in self.sources else self.served | np.isfinite(start)
            if not self.any_reneged:
                return enter[stood], start[stood]
            left_here = self.reneged & (self.left_stage == self.stages.index(stage))
            stood |= left_here
            leave = np.where(left_here, self.left_s, start)
            return enter[stood], leave[stood]

        return self.derived(("line", stage), compute)

    def station_free_s(self) -> np.ndarray:
        """When each resident's station was free again (swab end plus hand disinfection; NaN: not served)."""
        end = self.end["swab"]
        return end + self.overhead_s if self.overhead_s is not None else end

    @property
    def arrived(self) -> int:
        return int(self.arrival_s.size)

    @property
    def sampled(self) -> int:
        return int(np.count_nonzero(self.served))

    def enter(self, stage: str) -> np.ndarray:
        """When each resident joined the line of ``stage``: the end of the stage before it (in
        the main flow), or of the stage that diverted it there (a side stage)."""
        sources = self.sources.get(stage)
        if sources:
            ends = [self.end[source] for source in sources]
            return ends[0] if len(ends) == 1 else np.fmax.reduce(ends)
        main = self.main
        at = main.index(stage)
        return self.end[main[at - 1]] if at else self.arrival_s

    def wait(self, stage: str) -> np.ndarray:
        """Seconds each resident counted at ``stage`` (``through``) waited for it (blocking included)."""
        waits = self.start[stage] - self.enter(stage)
        return waits if self.everyone_counted else waits[self.through(stage)]

    def total_wait(self) -> np.ndarray:
        """Seconds each swabbed resident waited, the waits at the stages of the main flow added up."""
        served = self.served
        total = np.zeros(int(np.count_nonzero(served)))
        for stage in self.main:
            total += (self.start[stage] - self.enter(stage))[served]
        return total

    def service(self, stage: str) -> np.ndarray:
        services = self.end[stage] - self.start[stage]
        return services if self.everyone_counted else services[self.through(stage)]

    @property
    def finish_s(self) -> np.ndarray:
        """When each resident was swabbed (NaN if not served)."""
        return self.end["swab"]

    @property
    def last_swab_s(self) -> float:
        """End of the last swab at the point, or opening time when nobody was sampled (found once per log)."""

        def compute() -> float:
            done = self.finish_s[self.served]
            return float(done.max()) if done.size else self.open_s

        return self.derived("last_swab_s", compute)

    @property
    def home_sampled(self) -> int:
        return self.home.sampled if self.home is not None else 0

    @property
    def last_sample_s(self) -> float:
        """End of the last sampling of the point's residents, at the point or at home."""
        last = self.last_swab_s
        if self.home is not None and self.home.sampled:
            last = max(last, float(np.nanmax(self.home.end_s)))
        return last

    def sampled_times(self) -> np.ndarray:
        """When each resident sampled at the point or at home was done, unsorted (found once per log, for the
        tally and the series alike: not to be changed)."""

        def compute() -> np.ndarray:
            times = self.finish_s[self.served]
            if self.home is not None:
                times = np.concatenate([times, self.home.end_s[self.home.served]])
            return times

        return self.derived("sampled_times", compute)

    def home_days(self) -> np.ndarray:
        """The day of each home visit (0 for residents never visited)."""
        start = self.home.start_s
        days = np.floor((np.where(np.isnan(start), self.open_s, start) - self.open_s) / DAY_S)
        return np.maximum(days, 0).astype(self.day.dtype)

    def table(self, stages: Sequence[str] = ()) -> dict[str, np.ndarray]:
        """The log as named columns, a pair per stage of ``stages`` (default: the point's; NaN
        where the point has no such stage), for CSV or pandas.

        Residents sampled at home follow those who came, with status
        ``home_sampled`` (or ``home_unserved``) and their visit in the swab columns.
        """
        nan = np.full(self.arrived, np.nan)
        columns = {
            "point": np.full(self.arrived, self.point_id, dtype=object),
            "resident": self.resident,
            "status": self.status(),
            "day": self.day,
            "qr": self.qr,
            "station": self.station,
            "arrival_s": self.arrival_s,
        }
        stages = stages or self.stages
        for stage in stages:
            columns[f"{stage}_start_s"] = self.start.get(stage, nan)
            columns[f"{stage}_end_s"] = self.end.get(stage, nan)
        columns["priority"] = self.priority if self.priority is not None else np.zeros(self.arrived, dtype=bool)
        columns["balks"] = self.balks
        columns["left_s"] = self.left_s
        columns["left_stage"] = np.asarray((*self.stages, ""), dtype=object)[self.left_stage]
        if self.home is None or self.home.resident.size == 0:
            return columns
        home = self.home
        count = home.resident.size
        blank = np.full(count, np.nan)
        extra = {
            "point": np.full(count, self.point_id, dtype=object),
            "resident": home.resident,
            "status": np.where(home.served, "home_sampled", "home_unserved").astype(object),
            "day": self.home_days(),
            "qr": np.zeros(count, dtype=bool),
            "station": np.full(count, -1, dtype=self.station.dtype),
            "arrival_s": blank,
        }
        for stage in stages:
            extra[f"{stage}_start_s"] = home.start_s if stage == "swab" else blank
            extra[f"{stage}_end_s"] = home.end_s if stage == "swab" else blank
        extra["priority"] = np.zeros(count, dtype=bool)
        extra["balks"] = np.zeros(count, dtype=self.balks.dtype)
        extra["left_s"] = blank
        extra["left_stage"] = np.full(count, "", dtype=object)
        return {name: np.concatenate([columns[name], extra[name]]) for name in columns}


def concatenate(logs: list[EventLog], stages: Sequence[str] = ()) -> dict[str, np.ndarray]:
    """Columns of several logs stacked, in the order given, a pair per stage of ``stages`` (default:
    every stage of the logs, in one order)."""
    stages = stages or union([log.stages for log in logs])
    tables = [log.table(stages) for log in logs]
    return {name: np.concatenate([t[name] for t in tables]) for name in tables[0]}


def clock_text(seconds: float) -> str:
    """"HH:MM:SS" of seconds since midnight of day 0 (hours go past 24 on later days)."""
    if not np.isfinite(seconds):
        return ""
    return whole_clock_text(int(round(seconds)))


def whole_clock_text(whole: int) -> str:
    """``clock_text`` of a whole number of seconds."""
    sign = "-" if whole < 0 else ""
    whole = abs(whole)
    return f"{sign}{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def day_clock(seconds: float) -> str:
    """"HH:MM" on day 0, "+1d HH:MM" on the next (seconds since midnight of day 0, cut to the minute, as on a clock)."""
    day, minute = divmod(int(math.floor(seconds / 60.0 + 1e-6)), 24 * 60)
    return f"{minute // 60:02d}:{minute % 60:02d}" if day == 0 else f"+{day}d {minute // 60:02d}:{minute % 60:02d}"


def _read_only(values: np.ndarray) -> np.ndarray:
    """A view of ``values`` that cannot be written: a log's own times lent out, not to be changed through it."""
    view = values.view()
    view.flags.writeable = False
    return view
