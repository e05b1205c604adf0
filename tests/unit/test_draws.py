"""simsampling.draws: every random quantity of a point's residents, drawn up front."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from simsampling.draws import draw_residents
from simsampling.scenario import validate_scenario

FIELDS = ("resident", "arrival_s", "qr", "temperature_s", "registration_s", "swab_s")


def scenario(show_up=0.9, seed=42, tents=4, extra_points=(), stages=None, arrivals=None, population=800):
    point = {"id": "p", "population": population, "tents": tents}
    if stages is not None:
        point["stages"] = stages
    return validate_scenario(
        {
            "name": "draws",
            "seed": seed,
            "points": [point, *extra_points],
            "arrivals": arrivals
            or {
                "kind": "slots",
                "show_up": show_up,
                "lateness_min": {"dist": "normal", "mean": 0, "sd": 10},
                "slots": [{"start": "08:00", "end": "10:00", "share": 0.6}, {"start": "14:00", "end": "16:00", "share": 0.4}],
            },
        }
    )


def assert_same_draws(a, b):
    for name in FIELDS:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert a.no_show == b.no_show


def test_same_seed_gives_identical_arrays():
    s = scenario()
    assert_same_draws(draw_residents(s, s.points[0], 0), draw_residents(s, s.points[0], 0))
    # Rebuilt from an equal but distinct scenario object as a worker would.
    t = scenario()
    assert_same_draws(draw_residents(s, s.points[0], 3), draw_residents(t, t.points[0], 3))


@pytest.mark.parametrize("change", [{"seed": 43}, {"replication": 1}])
def test_other_seed_or_replication_gives_other_draws(change):
    s = scenario(seed=change.get("seed", 42))
    a = draw_residents(scenario(), scenario().points[0], 0)
    b = draw_residents(s, s.points[0], change.get("replication", 0))
    assert not np.array_equal(a.swab_s[:50], b.swab_s[:50])
    assert not np.array_equal(a.arrival_s[:50], b.arrival_s[:50])


def test_residents_in_arrival_order_with_unique_identities():
    s = scenario()
    d = draw_residents(s, s.points[0], 0)
    assert np.all(np.diff(d.arrival_s) >= 0)
    assert not np.isnan(d.arrival_s).any()
    assert d.resident.dtype == np.int64
    assert np.unique(d.resident).size == d.count
    assert d.resident.min() >= 0 and d.resident.max() < 800
    assert d.count + d.no_show == 800
    for name in ("qr", "temperature_s", "registration_s", "swab_s"):
        assert getattr(d, name).shape == (d.count,)
    assert np.all(d.swab_s > 0) and np.all(d.temperature_s > 0) and np.all(d.registration_s > 0)


def test_absent_stages_have_empty_arrays():
    s = scenario(stages={"swab": {}})
    d = draw_residents(s, s.points[0], 0)
    assert d.temperature_s.size == 0 and d.registration_s.size == 0
    assert d.qr.shape == (d.count,) and not d.qr.any()
    assert d.swab_s.shape == (d.count,)


def test_registration_time_is_the_qr_or_the_manual_draw():
    stages = {
        "registration": {"qr_share": 0.7, "service_s": {"qr": {"dist": "fixed", "value": 8}, "manual": {"dist": "fixed", "value": 60}}},
        "swab": {},
    }
    s = scenario(stages=stages, show_up=1.0, population=4000)
    d = draw_residents(s, s.points[0], 0)
    np.testing.assert_array_equal(d.registration_s, np.where(d.qr, 8.0, 60.0))
    assert abs(d.qr.mean() - 0.7) < 0.03


def by_identity(d, name):
    return dict(zip(d.resident.tolist(), getattr(d, name).tolist()))


def test_common_random_numbers_service_times_do_not_depend_on_show_up():
    """A resident's swab (and every other service) time is the same whatever show_up is."""
    high = draw_residents(scenario(show_up=0.95), scenario().points[0], 2)
    low_s = scenario(show_up=0.5)
    low = draw_residents(low_s, low_s.points[0], 2)
    assert low.count < high.count
    both = set(low.resident.tolist()) & set(high.resident.tolist())
    assert len(both) > 300
    for name in ("swab_s", "temperature_s", "registration_s", "qr", "arrival_s"):
        a, b = by_identity(low, name), by_identity(high, name)
        assert all(a[r] == b[r] for r in both), name


def test_common_random_numbers_across_layouts_and_added_points():
    base = scenario()
    other = scenario(
        tents=9,
        stages={"temperature": {"servers": 3}, "registration": {"servers": 2}, "swab": {"servers": 12}},
        extra_points=({"id": "q", "population": 100, "tents": 1},),
    )
    a = draw_residents(base, base.points[0], 1)
    b = draw_residents(other, other.points[0], 1)
    assert_same_draws(a, b)


def test_common_random_numbers_swab_time_does_not_depend_on_stages_present():
    with_all = scenario()
    swab_only = scenario(stages={"swab": {}})
    a = draw_residents(with_all, with_all.points[0], 0)
    b = draw_residents(swab_only, swab_only.points[0], 0)
    np.testing.assert_array_equal(a.resident, b.resident)
    np.testing.assert_array_equal(a.swab_s, b.swab_s)


def test_points_of_a_scenario_draw_independently():
    s = scenario(extra_points=({"id": "q", "population": 800, "tents": 4},))
    a, b = draw_residents(s, s.points[0], 0), draw_residents(s, s.points[1], 0)
    assert not np.array_equal(a.swab_s[:100], b.swab_s[:100])


def test_poisson_walk_ins_are_identities_in_arrival_order():
    s = scenario(arrivals={"kind": "poisson", "rate_per_hour": 30}, population=1000)
    d = draw_residents(s, s.points[0], 0)
    np.testing.assert_array_equal(d.resident, np.arange(d.count))
    assert d.no_show == 0  # docs/scenario-format.md: walk-ins who never come are not no-shows
    capped_s = scenario(arrivals={"kind": "poisson", "rate_per_hour": 30}, population=100)
    capped = draw_residents(capped_s, capped_s.points[0], 0)
    assert capped.count == 100
    np.testing.assert_array_equal(capped.arrival_s, d.arrival_s[:100])
    np.testing.assert_array_equal(capped.swab_s, d.swab_s[:100])


def test_empty_point():
    s = scenario(population=0)
    d = draw_residents(s, s.points[0], 0)
    assert d.count == 0 and d.no_show == 0
    assert all(getattr(d, f).size == 0 for f in FIELDS)


def test_resident_draws_are_frozen():
    s = scenario()
    d = draw_residents(s, s.points[0], 0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.no_show = 0
