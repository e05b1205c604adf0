"""Everything random about one point's residents in one replication, drawn up front.

The model then only reads arrays: no random call happens per event, and the
same draws can drive any engine that simulates the point.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from .arrivals import ArrivalDraw, draw_arrivals, household_of, in_time_order
from .random import point_streams, reach_of, roster_sample, roster_uniform, sample, stream
from .stages import Flow
from .scenario.schema import PoissonArrivals, Point, Pooling, Scenario


@dataclass(frozen=True)
class HomeDraws:
    """Residents sampled at home, in visiting order, by household (seconds)."""

    resident: np.ndarray
    household: np.ndarray
    service_s: np.ndarray
    travel_s: np.ndarray
    ppe_s: np.ndarray

    @property
    def households(self) -> int:
        return int(self.travel_s.size)


@dataclass(frozen=True)
class ResidentDraws:
    """Residents who came, in order of arrival, with their service times (seconds).

    ``resident`` is the identity in the point's roster (0..population-1);
    ``day`` the day each arrival counts for (after that day's closing it is
    turned away). ``no_show`` counts residents called who never came,
    ``not_called`` those the calling plan never reached. ``service_s`` holds
    each stage's service times, by stage name in flow order (side stages
    included). ``divert`` holds, per stage that diverts, the route each resident
    takes after it (an index into its routes; -1: on along the flow).
    ``reserved`` marks who uses the reserved stations. ``setup_s`` delays the
    first opening.
    """

    resident: np.ndarray
    arrival_s: np.ndarray
    qr: np.ndarray
    service_s: dict[str, np.ndarray]
    no_show: int
    day: Optional[np.ndarray] = None
    not_called: int = 0
    setup_s: float = 0.0
    home: Optional[HomeDraws] = None
    pooling: Optional[Pooling] = None
    tube_handling_s: Optional[np.ndarray] = None
    infected: Optional[np.ndarray] = None
    recall_s: Optional[np.ndarray] = None
    priority: Optional[np.ndarray] = None
    disinfection_s: Optional[np.ndarray] = None
    balk_threshold: Optional[np.ndarray] = None
    balk_returns: Optional[np.ndarray] = None
    balk_return_s: Optional[np.ndarray] = None
    patience_s: Optional[np.ndarray] = None
    household: Optional[np.ndarray] = None
    divert: dict[str, np.ndarray] = field(default_factory=dict)
    reserved: Optional[np.ndarray] = None

    @property
    def count(self) -> int:
        return int(self.arrival_s.size)

    @property
    def days(self) -> np.ndarray:
        return self.day if self.day is not None else np.zeros(self.count, dtype=np.int16)


def draw_home(point: Point, residents: np.ndarray, streams) -> HomeDraws:
    if residents.size == 0:
        # Nobody sampled at home (most small points): no stream built for nothing drawn; the same empty arrays.
        return HomeDraws(residents, np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0), np.zeros(0))
    config = point.home
    household = household_of(residents.size, config.household_size, streams("home_household"))
    households = int(household[-1]) + 1 if residents.size else 0
    return HomeDraws(
        resident=residents,
        household=household,
        service_s=60.0 * roster_sample(config.service_min, streams("home_service"), point.population, residents),
        travel_s=60.0 * sample(config.travel_min, streams("home_travel"), households),
        ppe_s=60.0 * sample(config.ppe_change_min, streams("home_ppe"), households),
    )


def setup_s(scenario: Scenario, point: Point, replication: int, streams=None) -> float:
    """Seconds the point's first opening waits for its set-up in a replication (0 without ``setup_min``);
    ``streams``: the point's (``point_streams``), when the caller has them."""
    if point.setup_min is None:
        return 0.0
    rng = streams("setup") if streams is not None else stream(scenario.seed, replication, point.id, "setup")
    return 60.0 * float(sample(point.setup_min, rng, 1)[0])


def draw_residents(scenario: Scenario, point: Point, replication: int) -> ResidentDraws:
    streams = point_streams(scenario.seed, replication, point.id)
    roster = point.population
    at_home = None
    if point.home is not None:
        at_home = streams("home").random(roster) < point.home.share
    config = scenario.arrivals_for(point)
    if isinstance(config, PoissonArrivals):
        members = np.flatnonzero(~at_home) if at_home is not None else None  # those not sampled at home (None: everyone)
        draw = draw_arrivals(config, roster if members is None else members.size, scenario.hours, streams)  # walk-ins: whoever comes
        order, arrival_s, day, household, everyone, no_show, not_called = came_of(draw, members)
    elif at_home is None:
        order, arrival_s, day, household, everyone, no_show, not_called = came_of(draw_arrivals(config, roster, scenario.hours, streams), None)
    else:
        # Called residents: the whole roster is called (a household with a member sampled
        # at home is still called), so each resident keeps its call with or without home sampling.
        draw = draw_arrivals(config, roster, scenario.hours, streams)
        order, arrival_s, day, household, everyone, no_show, not_called = came_of_roster(draw, ~at_home)
    # Service draws are indexed by identity in the roster, so a resident's service time does
    # not depend on who else showed up; they are drawn only as far as the last resident who came.
    reach = reach_of(order)
    who = None if everyone and order.size == reach else order  # None: the first ``reach`` of the roster, in order
    draw_of = lambda dist, name, scale=1.0: _scaled(scale, roster_sample(dist, streams(name), roster, who, reach=reach))  # noqa: E731
    uniform = lambda name: roster_uniform(streams(name), who, reach)  # noqa: E731
    share_of = lambda name, share: uniform(name) < share  # noqa: E731
    flow = point.flow
    drawn = {stage.name: stage.kind.draw(stage.name, stage.config, draw_of, uniform) for stage in flow.stages}
    service = {name: values["service_s"] for name, values in drawn.items()}
    extras = {key: value for values in drawn.values() for key, value in values.items() if key != "service_s"}
    priority = None
    if point.green_channel is not None:
        # Assisted residents take longer at every stage.
        priority = share_of("priority", point.green_channel.share)
        factor = np.where(priority, point.green_channel.service_factor, 1.0)
        service = {name: times * factor for name, times in service.items()}
    balking, reneging = point.balking, point.reneging
    setup = setup_s(scenario, point, replication, streams)
    pooling = scenario.pooling_for(point)
    chain = scenario.chain
    return ResidentDraws(
        resident=order.astype(np.int64, copy=False),
        arrival_s=arrival_s,
        qr=extras.get("qr", np.zeros(order.size, dtype=bool)),
        service_s=service,
        no_show=no_show,
        day=day,
        not_called=not_called,
        setup_s=setup,
        home=draw_home(point, np.flatnonzero(at_home), streams) if point.home is not None else None,
        pooling=pooling,
        tube_handling_s=draw_of(pooling.tube_handling_s, "tube_handling") if pooling else None,
        infected=share_of("infection", chain.prevalence) if chain else None,
        recall_s=draw_of(chain.recall.delay_min, "recall", 60.0) if chain else None,
        priority=priority,
        disinfection_s=extras.get("disinfection_s"),
        balk_threshold=draw_of(balking.threshold, "balk_threshold") if balking else None,
        balk_returns=share_of("balk_return", balking.return_share) if balking else None,
        balk_return_s=draw_of(balking.return_after_min, "balk_return_delay", 60.0) if balking else None,
        patience_s=draw_of(reneging.patience_min, "patience", 60.0) if reneging else None,
        household=household,
        divert=divert_draws(flow, uniform),
        reserved=extras.get("reserved"),
    )


def came_of(draw: ArrivalDraw, members: Optional[np.ndarray]) -> tuple:
    """Who of a draw came, in order of arrival: their identities (``members``' of the draw's residents; None: the
    k-th drawn is resident k), arrival times, days and households, whether everyone drawn came in the order
    drawn, then the residents who did not show up and those not called."""
    came = np.flatnonzero(~np.isnan(draw.arrival_s))
    # Everyone drawn came, in the order drawn (walk-ins: the k-th to come is the k-th drawn): taken as they are.
    everyone = came.size == draw.arrival_s.size
    arrival_s = draw.arrival_s if everyone else draw.arrival_s[came]
    if arrival_s.size > 1 and not np.all(arrival_s[1:] >= arrival_s[:-1]):  # walk-ins come in order: a stable sort leaves them
        by_time = in_time_order(arrival_s)
        came, arrival_s, everyone = came[by_time], arrival_s[by_time], False
    order = came if members is None else members[came]
    household = draw.household[came] if draw.household is not None else None
    return order, arrival_s, draw.day if everyone else draw.day[came], household, everyone, draw.no_show, draw.not_called


def came_of_roster(draw: ArrivalDraw, away: np.ndarray) -> tuple:
    """``came_of`` the draw's residents not sampled at home (``away``: the members), read from the whole roster's
    draw: the same arrays and counts, each array gathered once (not the members' arrays first, then those of them
    who came)."""
    arrived = ~np.isnan(draw.arrival_s) & away
    order = np.flatnonzero(arrived)
    arrival_s = draw.arrival_s[order]
    members = int(np.count_nonzero(away))
    everyone = order.size == members
    if arrival_s.size > 1 and not np.all(arrival_s[1:] >= arrival_s[:-1]):
        by_time = in_time_order(arrival_s)
        order, arrival_s, everyone = order[by_time], arrival_s[by_time], False
    called = draw.called & away
    household = draw.household[order] if draw.household is not None else None
    return (order, arrival_s, draw.day[order], household, everyone, int(np.count_nonzero(called & ~arrived)),
            members - int(np.count_nonzero(called)))


def _scaled(scale: float, values: np.ndarray) -> np.ndarray:
    """``scale * values`` (times 1: the values themselves, the same bits)."""
    return values if scale == 1.0 else scale * values


def divert_draws(flow: Flow, uniform) -> dict[str, np.ndarray]:
    """Per stage with routes, each resident's route (-1: none) from one uniform draw of the
    stage's ``divert:<stage>`` stream against the routes' cumulative shares: raising a share
    keeps every resident it diverted diverted (and on the same route, for the first route)."""
    chosen = {}
    for stage in flow.stages:
        if stage.routes:
            draw = uniform(f"divert:{stage.name}")
            bounds = np.cumsum([route.share for route in stage.routes])
            route = np.searchsorted(bounds, draw, side="right")
            chosen[stage.name] = np.where(route < bounds.size, route, -1).astype(np.int8)
    return chosen
