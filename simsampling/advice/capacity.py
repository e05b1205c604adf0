"""How many residents each stage of a point can serve per hour, over the round.

A stage's rate is its servers on duty (the staff plan: counts or rota, less the
slots closed for lack of staff or uncovered breaks) over the mean time a
server spends per resident. That mean is taken from the scenario's service
distributions (a fixed-seed sample, the same for every run), layout
included, because the layout changes what a server is tied up by:

* a registrar **paired** with a station holds its resident until the sampler
  is free, then registers the next, so a station takes a resident every
  max(swab, next registration) and not every swab;
* the sampling stations also spend the hand disinfection and, at a point that
  pools, the sealing of each full tube (a share ``1 / ratio`` of residents);
* assisted residents of a green channel take ``service_factor`` times as long.

The rates feed the fluid model of ``headroom.py``; they are not statistics of
the run (the run's own utilisation is in its KPIs).
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ..draws import setup_s
from ..random import sample
from ..scenario.schema import Point, Scenario
from ..staffing import StaffPlan, staff_plan
from ..stages import role as serving_role

SAMPLE_SIZE = 20_000
"""Draws per service distribution: the mean of a lognormal(30, 10) within 0.1%."""
SEED = 13
STAFFING_STAGE = "swab"
"""The sampling stations' stage, the last of every flow: paired registrars and breaks follow its samplers."""


def stages_of(point: Point) -> tuple[str, ...]:
    """The stages of a point's main flow, in walking order (side stages are off the way to the swab)."""
    return tuple(stage.name for stage in point.flow.main)


def service_draws(point: Point, scenario: Scenario, size: int = SAMPLE_SIZE) -> dict[str, np.ndarray]:
    """A fixed-seed sample of the time a server of each stage spends per resident (seconds)."""
    rng = np.random.default_rng(SEED)
    green = point.green_channel
    factor = np.where(rng.random(size) < green.share, green.service_factor, 1.0) if green is not None else 1.0
    draws = {}
    for stage in stages_of(point):
        config = point.stages.config(stage)
        times = config.service_s
        if hasattr(times, "qr"):  # scanned or typed in, by the share that has a code
            by_code = rng.random(size) < config.qr_share
            seconds = np.where(by_code, sample(times.qr, rng, size), sample(times.manual, rng, size))
        else:
            seconds = sample(times, rng, size)
        if getattr(config, "disinfection_s", None) is not None:
            seconds = seconds + sample(config.disinfection_s, rng, size)
        draws[stage] = seconds * factor
    pooling = scenario.pooling_for(point)
    if pooling is not None:
        draws[STAFFING_STAGE] = draws[STAFFING_STAGE] + sample(pooling.tube_handling_s, rng, size) / pooling.ratio
    return draws


def mean_service_s(point: Point, scenario: Scenario) -> dict[str, float]:
    """Per stage, the mean seconds a server is tied up per resident, the layout included.

    The points of a district mostly share their stages: computed once per distinct layout.
    """
    parts = (point.stages, point.green_channel, scenario.pooling_for(point))
    key: Any = parts  # frozen models hash and compare by value: looked up once (hashing them walks every field)
    try:
        means = _MEANS.get(key)
    except TypeError:  # a list inside (an empirical distribution's values)
        key = "|".join(part.model_dump_json() if part is not None else "" for part in parts)
        means = _MEANS.get(key)
    if means is None:
        if len(_MEANS) >= MEANS_KEPT:
            _MEANS.clear()
        draws = service_draws(point, scenario)
        means = {stage: float(values.mean()) for stage, values in draws.items()}
        for stage in paired_stages(point):
            # The next registration starts when the station takes the resident before it.
            means[STAFFING_STAGE] = float(np.maximum(draws[STAFFING_STAGE], draws[stage]).mean())
        _MEANS[key] = means
    return dict(means)


_MEANS: dict = {}
MEANS_KEPT = 256
"""Distinct layouts whose means are kept (a district has a handful)."""


def paired_stages(point: Point) -> list[str]:
    """Stages whose servers are paired one to one with the sampling stations (``servers: per_tent``)."""
    return [stage for stage in stages_of(point)
            if stage != STAFFING_STAGE and getattr(point.stages.config(stage), "servers", None) == "per_tent"]


def open_mask(hours: list[tuple[float, float]], grid: np.ndarray) -> np.ndarray:
    """1.0 at grid times from each day's opening to the next day's opening (the night serves the line out), else 0."""
    mask = np.zeros(grid.size)
    for day, (open_s, _) in enumerate(hours):
        following = hours[day + 1][0] if day + 1 < len(hours) else np.inf
        mask[(grid >= open_s) & (grid < following)] = 1.0
    return mask


def servers_on_duty(point: Point, scenario: Scenario, stage: str, grid: np.ndarray, plan: Optional[StaffPlan]) -> np.ndarray:
    """Servers of ``stage`` able to serve at each grid time (seconds since midnight of day 0).

    From each day's opening to the next day's opening (a set-up is the fluid's to add): the
    stage's servers less those the staff ``plan`` closes (None: nobody is closed). After a closing
    those on duty then serve the line out (the line of the day: new arrivals wait for the next
    opening, see ``headroom.Fluids.admitted``).
    """
    hours = scenario.hours
    slots = point.servers(stage)
    servers = slots * open_mask(hours, grid)
    if plan is None:
        return servers
    role = serving_role(stage)
    if role not in plan.duty:
        role = serving_role(STAFFING_STAGE)  # paired registrars follow their stations' samplers
    for closure in plan.closures_of(role):
        if closure.slot < slots:
            servers[(grid >= closure.start_s) & (grid < closure.end_s)] -= 1
    for day, (_, close_s) in enumerate(hours):  # those at work at a closing stay till the line is served
        following = hours[day + 1][0] if day + 1 < len(hours) else np.inf
        at_close = servers[np.searchsorted(grid, close_s) - 1] if close_s > grid[0] else slots
        servers[(grid >= close_s) & (grid < following)] = at_close
    return np.clip(servers, 0, None)


def setup_times(point: Point, scenario: Scenario, replications: int) -> list[float]:
    """The point's set-up in each replication of the run (the draws' own; at most ``SETUPS_KEPT``,
    spread over them); [0] for a point without a set-up."""
    if point.setup_min is None:
        return [0.0]
    drawn = sorted(setup_s(scenario, point, replication) for replication in range(replications))
    if len(drawn) <= SETUPS_KEPT:
        return drawn
    return [drawn[int((k + 0.5) * len(drawn) / SETUPS_KEPT)] for k in range(SETUPS_KEPT)]


SETUPS_KEPT = 3
"""Set-up times a fluid is run with at most (a row each): with more replications, a spread of theirs."""


def stage_rates(point: Point, scenario: Scenario, grid: np.ndarray, most: float = np.inf) -> dict[str, np.ndarray]:
    """Per stage (walking order), the residents it can serve per second at each grid time, from each
    day's opening (set-up not counted). Without a ``staff`` section nobody is ever closed: no plan to read.

    ``most``: the highest rate given, to a stage of no time (a mean of 0, which is valid) or of so little
    that its rate overflows, while anyone is on duty there."""
    means = mean_service_s(point, scenario)
    plan = staff_plan(point, scenario.hours) if point.staff is not None else None
    rates = {}
    for stage in stages_of(point):
        on_duty = servers_on_duty(point, scenario, stage, grid, plan)
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            rate = on_duty / means[stage]
        rates[stage] = np.where(on_duty > 0, np.minimum(np.nan_to_num(rate, nan=most, posinf=most), most), 0.0)
    return rates
