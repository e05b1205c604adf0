"""What validate accepts must run: hypothesis mutates scenarios within their documented bounds, then runs them.

The loader's fuzzing (test_fuzz_loader.py) checks that bad input is refused; this
file checks the other half: a scenario that validates runs to a results folder,
whatever value within the schema's bounds a field holds. Mutations stay valid
(examples that do not validate are discarded): a number set to a bound of its
field (read from the schema: the smallest and largest accepted, just above an
open bound), -0.0, a subnormal float; a duration replaced by an extreme
distribution (a fixed 0 or ten days, an exponential of the smallest mean...). Runs
are kept short: at most 40 residents a point and 2 replications (scale has its
own checks: the estimate, benchmarks/estimate_bounds.py). Every run also asserts
Little's law (conftest.py). ``sweep --vary`` gets the same values from the command line.

Set SIMSAMPLING_FUZZ_EXAMPLES to run more examples (the bugs listed in
docs/validation.md were found with 2,000 per property).
"""

from __future__ import annotations

import copy
import math
import os
import typing
from pathlib import Path

import annotated_types as bounds
import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from simsampling.cli import main
from simsampling.experiment import run_scenario
from simsampling.report import write_results
from simsampling.report.chain_charts import specimen_age_chart
from simsampling.scenario import Scenario, ScenarioError, load_scenario, validate_scenario

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = int(os.environ.get("SIMSAMPLING_FUZZ_EXAMPLES", "20"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])
MAX_RESIDENTS = 40
MAX_REPLICATIONS = 2
TEN_DAYS_S = 864_000.0


def _base(name: str, points: int = 2) -> dict:
    data = load_scenario(ROOT / "scenarios" / f"{name}.yaml").model_dump(mode="json", exclude_none=True)
    data["points"] = data["points"][:points]
    for point in data["points"]:
        point["population"] = min(point["population"], MAX_RESIDENTS)
    data["replications"] = 1
    return data


BASES = {name: _base(name) for name in ("one-point-demo", "one-point-morning-rush", "summer-heat-rota",
                                         "walk-in-swab-only", "beibei-district", "beibei-with-labs")}
EXTREME_DURATIONS = [
    {"dist": "fixed", "value": 0.0}, {"dist": "fixed", "value": TEN_DAYS_S}, {"dist": "fixed", "value": 5e-324},
    {"dist": "exponential", "mean": 5e-324}, {"dist": "exponential", "mean": TEN_DAYS_S},
    {"dist": "lognormal", "mean": TEN_DAYS_S, "sd": TEN_DAYS_S}, {"dist": "lognormal", "mean": 5e-324, "sd": -0.0},
    {"dist": "triangular", "low": 0.0, "mode": 0.0, "high": 5e-324}, {"dist": "uniform", "low": 0.0, "high": 0.0},
    {"dist": "normal", "mean": 5e-324, "sd": TEN_DAYS_S}, {"dist": "normal", "mean": TEN_DAYS_S, "sd": -0.0},
    {"dist": "empirical", "values": [0.0, TEN_DAYS_S]},
    {"dist": "gamma", "shape": 5e-324, "scale": TEN_DAYS_S}, {"dist": "gamma", "shape": TEN_DAYS_S, "scale": 5e-324},
    {"dist": "weibull", "shape": 0.05, "scale": TEN_DAYS_S}, {"dist": "weibull", "shape": 1000.0, "scale": 5e-324},
]


# ---------------------------------------------------------------- the schema's bounds of a field


def _inner(annotation):
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def _unwrap(annotation, metadata: list, value):
    """The model class or scalar type at a field, and its constraints, for the data ``value`` found there."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation, *extras = typing.get_args(annotation)
            for extra in extras:
                metadata = metadata + (list(extra.metadata) if hasattr(extra, "metadata") else [extra])
        elif origin is typing.Union:
            options = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(options) == 1:  # Optional[...]
                annotation = options[0]
            elif isinstance(value, dict):  # a tagged union: the option whose tag the data gives
                tag = value.get("dist", value.get("kind"))
                models = [_inner(o) for o in options if isinstance(_inner(o), type) and issubclass(_inner(o), BaseModel)]
                match = [m for m in models for key in ("dist", "kind")
                         if key in m.model_fields and tag in typing.get_args(m.model_fields[key].annotation)]
                return (match[0] if match else models[0]), metadata
            else:
                scalars = [o for o in options if _inner(o) in (int, float)]
                annotation = scalars[0] if scalars else options[-1]
        else:
            return annotation, metadata


def field_bounds(path: tuple, data: dict) -> tuple[type, list]:
    """The type of the value at ``path`` and its annotated_types constraints (Ge, Gt, Le, Lt)."""
    annotation, metadata, node = Scenario, [], data
    for key in path:
        annotation, metadata = _unwrap(annotation, metadata, node)
        if isinstance(key, int):
            annotation, metadata = typing.get_args(annotation)[0], []
        else:
            info = annotation.model_fields[key]
            annotation, metadata = info.annotation, list(info.metadata)
        node = node[key]
    return _unwrap(annotation, metadata, node)


def edge_values(path: tuple, data: dict) -> list:
    """The values at the edges of the field's documented range, and the awkward floats."""
    kind, metadata = field_bounds(path, data)
    values: list = []
    for limit in metadata:
        if isinstance(limit, bounds.Ge):
            values.append(limit.ge)
        elif isinstance(limit, bounds.Gt):
            values.append(limit.gt + 1 if kind is int else math.nextafter(float(limit.gt), math.inf))
        elif isinstance(limit, bounds.Le):
            values.append(limit.le)
        elif isinstance(limit, bounds.Lt):
            values.append(limit.lt - 1 if kind is int else math.nextafter(float(limit.lt), -math.inf))
    if _inner(kind) is float:
        values = [float(v) for v in values] + [-0.0, 5e-324, 2.2250738585072014e-308]
    return values


# ---------------------------------------------------------------- valid mutations


def _leaves(node, prefix: tuple = ()) -> list[tuple]:
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            found += _leaves(value, prefix + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node[:3]):
            found += _leaves(value, prefix + (index,))
    elif isinstance(node, (int, float)) and not isinstance(node, bool):
        found.append(prefix)
    return found


def _durations(node, prefix: tuple = ()) -> list[tuple]:
    found = []
    if isinstance(node, dict):
        if "dist" in node and prefix[-1] != "lateness_min":
            found.append(prefix)
        for key, value in node.items():
            found += _durations(value, prefix + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node[:3]):
            found += _durations(value, prefix + (index,))
    return found


def _set(data: dict, path: tuple, value) -> None:
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = copy.deepcopy(value)


SHORT = {"population": MAX_RESIDENTS, "replications": MAX_REPLICATIONS}
"""Fields whose upper bound is left out of this fuzzing (their scale is the estimate's): at most this."""


def _short(path: tuple, value) -> bool:
    return value <= SHORT.get(path[-1], value)


@st.composite
def valid_mutants(draw) -> tuple[dict, list[str]]:
    data = copy.deepcopy(BASES[draw(st.sampled_from(sorted(BASES)))])
    done = []
    for _ in range(draw(st.integers(1, 3))):
        if draw(st.booleans()):
            path = draw(st.sampled_from(_leaves(data)))
            value = draw(st.sampled_from([v for v in edge_values(path, data) if _short(path, v)] or [0]))
        else:
            path = draw(st.sampled_from(_durations(data)))
            value = draw(st.sampled_from(EXTREME_DURATIONS))
        _set(data, path, value)
        done.append(f"{'.'.join(map(str, path))} = {value!r}")
    try:
        validate_scenario(copy.deepcopy(data))
    except ScenarioError:
        assume(False)
    return data, done


@FUZZ
@given(mutant=valid_mutants())
def test_a_scenario_that_validates_runs(mutant, tmp_path_factory):
    data, _ = mutant
    scenario = validate_scenario(data)
    result = run_scenario(scenario, jobs=1, executor="serial")
    folder = write_results(result, tmp_path_factory.mktemp("run") / "out")
    assert (folder / "report.html").exists() and (folder / "summary.json").exists()
    assert load_scenario(folder / "scenario.yaml").model_dump() == scenario.model_dump()  # and runs again


def yaml_number(value) -> str:
    """A number as YAML 1.1 reads it back (``5e-324`` without a dot would be text)."""
    text = repr(value)
    return text.replace("e", ".0e", 1) if isinstance(value, float) and "e" in text and "." not in text else text


@FUZZ
@given(mutant=valid_mutants(), data=st.data())
def test_sweep_vary_runs_what_validates(mutant, data, tmp_path_factory):
    base, _ = mutant
    path = data.draw(st.sampled_from([p for p in _leaves(base) if p[0] not in ("chain", "seed", "replications")]))
    edges = [v for v in edge_values(path, base) if _short(path, v)] or [0]
    values = data.draw(st.lists(st.sampled_from(edges), min_size=1, max_size=2, unique_by=repr))
    folder = tmp_path_factory.mktemp("sweep")
    scenario = folder / "base.yaml"
    scenario.write_text(yaml.safe_dump(base, sort_keys=False))
    field = ".".join(map(str, path))
    text = ",".join(yaml_number(v) for v in values)
    code = main(["sweep", str(scenario), "--vary", f"{field}={text}", "--quiet", "--out", str(folder / "out")])
    assert code in (0, 2)  # 2: a value the field refuses, reported as bad input
    assert code == 2 or (folder / "out" / "sweep.csv").exists()


def test_couriers_visiting_every_instant_and_tubes_sealed_years_later_run(tmp_path: Path):
    """Seen once in a sweep of the fuzzer (10+ minutes, then stopped): couriers' visits every 5e-324 minutes
    stood still at the opening, and a tube sealed years later was waited for one hourly visit at a time; the
    chain's simulation never ended (model/chain.py, IDLE_VISITS). Then the specimens' ages, years, asked
    the age chart for 10**19 bars."""
    data = copy.deepcopy(BASES["beibei-with-labs"])
    data["chain"]["couriers"]["pickup_interval_min"] = 5e-324
    data["points"][0]["stages"]["swab"]["service_s"] = {"dist": "weibull", "shape": 0.05, "scale": TEN_DAYS_S}
    result = run_scenario(validate_scenario(data), jobs=1, executor="serial")
    assert np.nanmax(result.first_chain.arrived_s) > 365 * 86_400.0  # a tube reached its laboratory years later
    specimen_age_chart(result, tmp_path / "ages.png")
    assert (tmp_path / "ages.png").stat().st_size > 0


def test_a_waiting_area_of_denormal_spacing_runs():
    """Found by the run fuzzer: 100 m of line at 5e-324 m a person held more people than an integer does
    (OverflowError); its capacity is at most a point's largest population."""
    data = copy.deepcopy(BASES["one-point-demo"])
    data["points"][0]["waiting_area"] = {"length_m": 100_000.0, "spacing_m": 5e-324}
    scenario = validate_scenario(data)
    assert scenario.points[0].waiting_area.capacity == 50_000_000
    result = run_scenario(scenario, jobs=1, executor="serial")
    assert result.summary["kpis"]["waiting_peak_overflow"]["mean"] == 0.0


def test_negative_zero_as_a_standard_deviation_runs(tmp_path: Path):
    data = copy.deepcopy(BASES["one-point-demo"])
    data["arrivals"]["lateness_min"]["sd"] = -0.0  # numpy: "scale < 0" before
    scenario = validate_scenario(data)
    assert math.copysign(1.0, scenario.arrivals.lateness_min.sd) == 1.0
    write_results(run_scenario(scenario, jobs=1, executor="serial"), tmp_path / "out")


@pytest.mark.parametrize("engine", ["simpy", "fast"])
def test_a_heavy_tailed_swab_time_runs_in_the_memory_of_its_residents(engine: str, tmp_path: Path):
    data = copy.deepcopy(BASES["one-point-demo"])
    data["points"][0]["stages"]["swab"]["service_s"] = {"dist": "weibull", "shape": 0.05, "scale": TEN_DAYS_S}
    scenario = validate_scenario(data)  # a mean of 2e24 s: the last swab ends years later (305 TiB of hours before)
    result = run_scenario(scenario, jobs=1, executor="serial", engine=engine)
    assert result.summary["kpis"]["finish_h"]["mean"] > 24 * 365
    write_results(result, tmp_path / "out")
