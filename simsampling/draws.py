"""Everything random about one point's residents in one replication, drawn up front.

The model then only reads arrays: no random call happens per event, and the
same draws can drive any engine that simulates the point.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .arrivals import draw_arrivals
from .random import sample, stream
from .scenario.schema import Point, Scenario


@dataclass(frozen=True)
class ResidentDraws:
    """Residents who came, in order of arrival, with their service times (seconds).

    ``resident`` is the identity in the point's roster (0..population-1);
    ``no_show`` counts roster members who never came. Service arrays of stages
    absent at the point are empty.
    """

    resident: np.ndarray
    arrival_s: np.ndarray
    qr: np.ndarray
    temperature_s: np.ndarray
    registration_s: np.ndarray
    swab_s: np.ndarray
    no_show: int

    @property
    def count(self) -> int:
        return int(self.arrival_s.size)


def draw_residents(scenario: Scenario, point: Point, replication: int) -> ResidentDraws:
    seed = scenario.seed
    config = scenario.arrivals_for(point)
    arrival = draw_arrivals(config, scenario.clock, point.population, seed, replication, point.id)
    came = np.flatnonzero(~np.isnan(arrival))
    order = came[np.argsort(arrival[came], kind="stable")]
    # Service draws are made for the whole roster (indexed by identity) so a
    # resident's service time does not depend on who else showed up.
    roster = max(int(arrival.size), point.population)
    rng = lambda name: stream(seed, replication, point.id, name)  # noqa: E731
    stages = point.stages
    empty = np.empty(0)
    qr = np.zeros(order.size, dtype=bool)
    temperature = registration = empty
    if stages.temperature is not None:
        temperature = sample(stages.temperature.service_s, rng("temperature"), roster)[order]
    if stages.registration is not None:
        reg = stages.registration
        qr = (rng("qr").random(roster) < reg.qr_share)[order]
        by_qr = sample(reg.service_s.qr, rng("registration_qr"), roster)[order]
        by_hand = sample(reg.service_s.manual, rng("registration_manual"), roster)[order]
        registration = np.where(qr, by_qr, by_hand)
    swab = sample(stages.swab.service_s, rng("swab"), roster)[order]
    return ResidentDraws(
        resident=order.astype(np.int64),
        arrival_s=arrival[order],
        qr=qr,
        temperature_s=temperature,
        registration_s=registration,
        swab_s=swab,
        no_show=int(arrival.size - came.size),
    )
