"""A point's draws are those of numpy's own seeding and of households drawn whole, to the bit.

Streams are seeded from one mixing of a point's key (``simsampling.seeding``) and households
drawn only until they house the roster (``arrivals.household_of``); both must leave every draw as
it was: here ``draw_residents`` runs once as it is and once with streams built by numpy's
``SeedSequence`` and households from one Poisson draw per resident, on random scenarios.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import simsampling.arrivals
import simsampling.draws
from simsampling.draws import draw_residents
from simsampling.random import point_key, stream_number
from simsampling.scenario import load_scenario, validate_scenario

try:  # pytest puts tests/ on sys.path (tests/ has no __init__.py)
    from validation.test_fast_engine import fast_flow_data
except ImportError:  # pragma: no cover - run from the repository root under another import mode
    from tests.validation.test_fast_engine import fast_flow_data


def numpy_streams(seed: int, replication: int, point_id: str):
    def streams(name: str) -> np.random.Generator:
        key = (replication, point_key(point_id), stream_number(name))
        return np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy=seed, spawn_key=key)))

    return streams


def households_drawn_whole(residents: int, mean_size: float, rng: np.random.Generator) -> np.ndarray:
    if residents == 0:
        return np.zeros(0, dtype=np.int64)
    sizes = 1 + rng.poisson(mean_size - 1.0, residents)
    return np.repeat(np.arange(residents), sizes)[:residents]


def draws_as_before(scenario, point, replication):
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(simsampling.draws, "point_streams", numpy_streams)
        patch.setattr(simsampling.draws, "stream", lambda seed, rep, point_id, name: numpy_streams(seed, rep, point_id)(name))
        patch.setattr(simsampling.draws, "household_of", households_drawn_whole)
        patch.setattr(simsampling.arrivals, "household_of", households_drawn_whole)
        return draw_residents(scenario, point, replication)


def assert_same(a, b, path="draws"):
    if isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and a.dtype == b.dtype, path
        np.testing.assert_array_equal(a, b, err_msg=path)
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for key in a:
            assert_same(a[key], b[key], f"{path}.{key}")
    elif dataclasses.is_dataclass(a):
        for field in dataclasses.fields(a):
            assert_same(getattr(a, field.name), getattr(b, field.name), f"{path}.{field.name}")
    else:
        assert type(a) is type(b) and a == b, path


def check(scenario, replication):
    for point in scenario.points:
        assert_same(draw_residents(scenario, point, replication), draws_as_before(scenario, point, replication))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(data=fast_flow_data(), replication=st.integers(0, 5), seed=st.integers(0, 2**63 - 1))
def test_random_scenarios_draw_as_before(data, replication, seed):
    check(validate_scenario({**data, "seed": seed}), replication)


@pytest.mark.parametrize(
    "arrivals",
    [
        {"kind": "calling", "batch_households": 5, "gap_min": 10, "household_size": 2.6, "show_up": 0.9,
         "mop_up": {"day": 0, "start": "17:00", "end": "18:00", "share": 0.5}},
        {"kind": "calling", "batch_households": 3, "gap_min": 5, "household_size": 1.0, "show_up": 1.0},
        {"kind": "calling", "batch_households": 1, "gap_min": 1, "household_size": 40.0, "show_up": 0.5},
        {"kind": "poisson", "rate_per_hour": 120.0},
    ],
)
@pytest.mark.parametrize("home", [None, {"share": 0.3, "household_size": 3.2}])
def test_calls_walk_ins_and_home_sampling_draw_as_before(arrivals, home):
    point = {"id": "p-1", "population": 1500, "tents": 3}
    if home is not None:
        point["home"] = home
    scenario = validate_scenario({"name": "before", "seed": 99, "points": [point], "arrivals": arrivals})
    for replication in (0, 4):
        check(scenario, replication)


@pytest.mark.parametrize("name", ["one-point-demo.yaml", "walk-in-swab-only.yaml", "summer-heat-rota.yaml", "health-code-and-isolation.yaml"])
def test_shipped_scenarios_draw_as_before(name):
    from pathlib import Path

    check(load_scenario(Path(__file__).resolve().parents[2] / "scenarios" / name), 1)
