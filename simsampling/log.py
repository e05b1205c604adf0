"""The event log: one row per resident who came, one column per timestamp.

It is the only thing a model hands on; metrics, charts and the persons table
are all computed from it. Times are seconds since midnight of the day.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

STAGE_ORDER = ("temperature", "registration", "swab")


@dataclass
class EventLog:
    """Timestamps of one point in one replication.

    ``start[stage]`` / ``end[stage]`` exist for the stages present at the point
    and are NaN for residents who were not served (arrived after closing).
    ``servers[stage]`` is the number of servers of the stage.
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

    @property
    def stages(self) -> tuple[str, ...]:
        return tuple(s for s in STAGE_ORDER if s in self.start)

    @property
    def arrived(self) -> int:
        return int(self.arrival_s.size)

    @property
    def sampled(self) -> int:
        return int(np.count_nonzero(self.served))

    def enter(self, stage: str) -> np.ndarray:
        """When each resident joined the line of ``stage``: the end of the stage before."""
        previous = self.stages[: self.stages.index(stage)]
        return self.end[previous[-1]] if previous else self.arrival_s

    def wait(self, stage: str) -> np.ndarray:
        """Seconds each served resident waited for ``stage`` (blocking included)."""
        return (self.start[stage] - self.enter(stage))[self.served]

    def service(self, stage: str) -> np.ndarray:
        return (self.end[stage] - self.start[stage])[self.served]

    @property
    def finish_s(self) -> np.ndarray:
        """When each resident was swabbed (NaN if not served)."""
        return self.end["swab"]

    @property
    def last_swab_s(self) -> float:
        """End of the last swab, or opening time when nobody was sampled."""
        done = self.finish_s[self.served]
        return float(done.max()) if done.size else self.open_s

    def table(self) -> dict[str, np.ndarray]:
        """The log as named columns (all stages, NaN where absent), for CSV or pandas."""
        nan = np.full(self.arrived, np.nan)
        columns = {
            "point": np.full(self.arrived, self.point_id, dtype=object),
            "resident": self.resident,
            "status": np.where(self.served, "sampled", "unserved").astype(object),
            "qr": self.qr,
            "station": self.station,
            "arrival_s": self.arrival_s,
        }
        for stage in STAGE_ORDER:
            columns[f"{stage}_start_s"] = self.start.get(stage, nan)
            columns[f"{stage}_end_s"] = self.end.get(stage, nan)
        return columns


def concatenate(logs: list[EventLog]) -> dict[str, np.ndarray]:
    """Columns of several logs stacked, in the order given."""
    tables = [log.table() for log in logs]
    return {name: np.concatenate([t[name] for t in tables]) for name in tables[0]}
