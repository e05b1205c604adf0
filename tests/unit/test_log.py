"""simsampling.log: the event log and what is derived from it directly."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from simsampling.log import EventLog, HomeLog, concatenate

STAGE_ORDER = ("temperature", "registration", "swab")

NAN = np.nan


def make_log(stages=("temperature", "registration", "swab"), **overrides) -> EventLog:
    """Four residents; the last arrived after closing (unserved)."""
    arrival = np.array([100.0, 110.0, 130.0, 1000.0])
    served = np.array([True, True, True, False])
    times = {
        "temperature": ([100.0, 112.0, 130.0, NAN], [105.0, 116.0, 133.0, NAN]),
        "registration": ([105.0, 120.0, 140.0, NAN], [115.0, 125.0, 150.0, NAN]),
        "swab": ([118.0, 125.0, 160.0, NAN], [140.0, 150.0, 185.0, NAN]),
    }
    log = EventLog(
        point_id="p",
        replication=0,
        open_s=100.0,
        close_s=900.0,
        population=5,
        no_show=1,
        servers={s: 1 for s in stages},
        resident=np.array([3, 0, 4, 1]),
        arrival_s=arrival,
        qr=np.array([True, False, True, False]),
        served=served,
        station=np.array([0, 0, 0, -1], dtype=np.int32),
    )
    for stage in stages:
        log.start[stage], log.end[stage] = (np.array(v) for v in times[stage])
    for key, value in overrides.items():
        setattr(log, key, value)
    return log


def test_stages_in_walking_order_whatever_the_insertion_order():
    log = make_log(stages=("swab", "temperature"))
    assert log.stages == ("temperature", "swab")
    assert make_log().stages == STAGE_ORDER


def test_enter_first_stage_is_arrival():
    log = make_log()
    np.testing.assert_array_equal(log.enter("temperature"), log.arrival_s)


def test_enter_later_stage_is_end_of_previous_present_stage():
    log = make_log()
    np.testing.assert_array_equal(log.enter("registration"), log.end["temperature"])
    np.testing.assert_array_equal(log.enter("swab"), log.end["registration"])
    no_reg = make_log(stages=("temperature", "swab"))
    np.testing.assert_array_equal(no_reg.enter("swab"), no_reg.end["temperature"])
    swab_only = make_log(stages=("swab",))
    np.testing.assert_array_equal(swab_only.enter("swab"), swab_only.arrival_s)
    reg_first = make_log(stages=("registration", "swab"))
    np.testing.assert_array_equal(reg_first.enter("registration"), reg_first.arrival_s)


def test_wait_is_start_minus_enter_for_served_residents_only():
    log = make_log()
    np.testing.assert_array_equal(log.wait("temperature"), [0.0, 2.0, 0.0])
    np.testing.assert_array_equal(log.wait("registration"), [0.0, 4.0, 7.0])
    # Blocking counts as waiting: resident 0 finished registering at 115, swab at 118.
    np.testing.assert_array_equal(log.wait("swab"), [3.0, 0.0, 10.0])
    swab_only = make_log(stages=("swab",))
    np.testing.assert_array_equal(swab_only.wait("swab"), [18.0, 15.0, 30.0])
    assert not np.isnan(log.wait("swab")).any()


def test_service_and_finish():
    log = make_log()
    np.testing.assert_array_equal(log.service("swab"), [22.0, 25.0, 25.0])
    np.testing.assert_array_equal(log.service("temperature"), [5.0, 4.0, 3.0])
    np.testing.assert_array_equal(log.finish_s[:3], [140.0, 150.0, 185.0])
    assert np.isnan(log.finish_s[3])
    assert log.last_swab_s == 185.0


def test_counts():
    log = make_log()
    assert log.arrived == 4
    assert log.sampled == 3


def test_last_swab_is_opening_when_nobody_was_sampled():
    log = make_log(served=np.zeros(4, dtype=bool))
    assert log.last_swab_s == log.open_s
    assert log.wait("swab").size == 0


def test_unknown_stage_is_refused():
    log = make_log(stages=("swab",))
    with pytest.raises((KeyError, ValueError)):
        log.wait("temperature")


def test_table_has_a_pair_of_columns_per_stage_asked_with_nan_where_absent():
    log = make_log(stages=("swab",))
    assert list(log.table()) == ["point", "resident", "status", "day", "qr", "station", "arrival_s",
                                 "swab_start_s", "swab_end_s", "priority", "balks", "left_s", "left_stage"]
    table = log.table(STAGE_ORDER)  # the stages of a district whose other points have all three
    assert list(table) == [
        "point", "resident", "status", "day", "qr", "station", "arrival_s",
        "temperature_start_s", "temperature_end_s",
        "registration_start_s", "registration_end_s",
        "swab_start_s", "swab_end_s",
        "priority", "balks", "left_s", "left_stage",
    ]  # fmt: skip
    assert table["left_stage"].tolist() == [""] * 4
    assert all(column.shape == (4,) for column in table.values())
    assert np.isnan(table["temperature_start_s"]).all()
    assert table["status"].tolist() == ["sampled", "sampled", "sampled", "unserved"]
    assert table["point"].tolist() == ["p"] * 4
    np.testing.assert_array_equal(table["swab_end_s"][:3], [140.0, 150.0, 185.0])
    np.testing.assert_array_equal(table["day"], [0, 0, 0, 0])  # a one-day log: every arrival counts for day 0


def test_concatenate_stacks_logs_in_order():
    a = make_log()
    b = make_log(point_id="q", stages=("swab",))
    columns = concatenate([a, b])
    assert columns["point"].tolist() == ["p"] * 4 + ["q"] * 4
    np.testing.assert_array_equal(columns["resident"], [3, 0, 4, 1, 3, 0, 4, 1])
    assert np.isnan(columns["temperature_start_s"][4:]).all()
    assert not np.isnan(columns["temperature_start_s"][:3]).any()


# ------------------------------------------------------------------ days and opening hours


def test_one_day_defaults_for_day_and_hours():
    log = make_log()
    assert log.day.shape == (4,) and not log.day.any()
    assert log.hours == [(100.0, 900.0)]
    assert log.setup_s == 0.0 and log.not_called == 0 and log.home is None


def test_day_column_carries_the_day_of_each_arrival():
    day = np.array([0, 0, 1, 1], dtype=np.int16)
    log = make_log(day=day, hours=[(100.0, 900.0), (86_500.0, 87_300.0)])
    table = log.table()
    np.testing.assert_array_equal(table["day"], day)
    assert log.hours[1] == (86_500.0, 87_300.0)
    assert table["day"].shape == (4,)


# ------------------------------------------------------------------ residents sampled at home


def home_log() -> HomeLog:
    """Five residents at home in three households; the last household was never visited."""
    return HomeLog(
        resident=np.array([2, 6, 7, 8, 9]),
        household=np.array([0, 0, 1, 2, 2]),
        team=np.array([0, 0, 1, -1, -1], dtype=np.int32),
        start_s=np.array([400.0, 520.0, 450.0, NAN, NAN]),
        end_s=np.array([520.0, 640.0, 570.0, NAN, NAN]),
        teams=2,
        team_size=2,
    )


def test_home_log_counts_residents_and_households_visited():
    home = home_log()
    np.testing.assert_array_equal(home.served, [True, True, True, False, False])
    assert home.sampled == 3
    assert home.visits == 2


def test_home_visits_count_in_sampled_times_and_last_sample():
    log = make_log(home=home_log())
    assert log.home_sampled == 3
    assert log.sampled == 3  # sampled at the point only
    assert log.last_swab_s == 185.0
    assert log.last_sample_s == 640.0
    np.testing.assert_array_equal(np.sort(log.sampled_times()), [140.0, 150.0, 185.0, 520.0, 570.0, 640.0])
    without = make_log()
    assert without.home_sampled == 0 and without.last_sample_s == without.last_swab_s
    np.testing.assert_array_equal(np.sort(without.sampled_times()), [140.0, 150.0, 185.0])


def test_last_sample_with_nobody_visited_is_the_last_swab():
    home = home_log()
    home.start_s[:] = NAN
    home.end_s[:] = NAN
    log = make_log(home=home)
    assert log.home_sampled == 0 and log.last_sample_s == log.last_swab_s


def test_table_appends_home_rows_after_those_who_came():
    log = make_log(home=home_log())
    table = log.table()
    assert all(column.shape == (9,) for column in table.values())
    assert table["status"].tolist() == ["sampled"] * 3 + ["unserved"] + ["home_sampled"] * 3 + ["home_unserved"] * 2
    np.testing.assert_array_equal(table["resident"], [3, 0, 4, 1, 2, 6, 7, 8, 9])
    assert table["point"].tolist() == ["p"] * 9
    home = slice(4, 9)
    # A home visit is in the swab columns; the point's other columns are empty for it.
    np.testing.assert_array_equal(table["swab_start_s"][home], [400.0, 520.0, 450.0, NAN, NAN])
    np.testing.assert_array_equal(table["swab_end_s"][home], [520.0, 640.0, 570.0, NAN, NAN])
    for column in ("arrival_s", "temperature_start_s", "temperature_end_s", "registration_start_s", "registration_end_s"):
        assert np.isnan(table[column][home]).all(), column
    assert table["station"][home].tolist() == [-1] * 5
    assert not table["qr"][home].any()
    assert table["day"].shape == (9,)
    # The rows of those who came are unchanged.
    plain = make_log().table()
    for name, column in plain.items():
        np.testing.assert_array_equal(table[name][:4], column, err_msg=name)


def test_table_without_anyone_at_home_has_no_home_rows():
    empty = HomeLog(
        resident=np.zeros(0, dtype=np.int64), household=np.zeros(0, dtype=np.int64), team=np.zeros(0, dtype=np.int32),
        start_s=np.zeros(0), end_s=np.zeros(0), teams=1, team_size=2,
    )
    table = make_log(home=empty).table()
    assert all(column.shape == (4,) for column in table.values())


def test_concatenate_keeps_home_rows_with_their_point():
    a = make_log(home=home_log())
    b = make_log(point_id="q", stages=("swab",))
    columns = concatenate([a, b])
    assert columns["point"].tolist() == ["p"] * 9 + ["q"] * 4
    assert columns["status"].tolist()[4:9] == ["home_sampled"] * 3 + ["home_unserved"] * 2
    assert list(columns) == list(a.table())


def test_derived_values_are_computed_once_per_log_and_not_pickled():
    log = make_log()
    calls = []
    first = log.derived("key", lambda: calls.append(1) or np.arange(3))
    assert log.derived("key", lambda: calls.append(1) or np.arange(3)) is first and len(calls) == 1
    assert log.line("swab") is log.line("swab")
    copy = pickle.loads(pickle.dumps(log))
    assert copy._derived == {} and log._derived  # a log crosses processes at its own size
    np.testing.assert_array_equal(copy.line("swab")[0], log.line("swab")[0])


@pytest.mark.parametrize("rows", [[], [("sampler", 2, 3600.0, 3650.5, float("inf"), "off_duty"), ("registrar", 0, 10.0, 12.0, 20.0, "break")]])
def test_a_closure_log_comes_back_from_pickling_as_it_was(rows):
    """An empty one travels as its arrays' types alone (ClosureLog.__reduce__): the same types, the same values."""
    from simsampling.log import ClosureLog

    for closures in (ClosureLog.of(rows), ClosureLog(*(np.empty(0, kind) for kind in ("<U8", "<i8", "<f4", "<f8", "<f8", "|O")))):
        back = pickle.loads(pickle.dumps(closures))
        for name in ("role", "slot", "scheduled_s", "start_s", "end_s", "reason"):
            assert getattr(back, name).dtype == getattr(closures, name).dtype
            np.testing.assert_array_equal(getattr(back, name), getattr(closures, name))
