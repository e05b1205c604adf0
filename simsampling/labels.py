"""What a KPI, a factor or a stage is called in tables, charts and sentences, and how numbers are written.

KPIs are flattened keys of summary.json (``wait_min.registration.p90``); the headline ones have a
label of their own (``KNOWN``), the others are read from their parts (``registration: wait p90
(min)``). Factors of a sweep are field paths; side by side they are named by their last distinct
part (``points.*.tents`` -> ``tents``). Used by the command line, the reports and the experiments'
headline tables alike.
"""

from __future__ import annotations

from typing import Sequence, Union

from .stages import label as stage_label

KNOWN = {
    "finish_h": "last sample (h from opening)",
    "sampled_by_deadline_share": "sampled by the deadline",
    "sampled_total": "residents sampled",
    "unserved": "unserved at the points",
    "wait_min.total.p90": "wait p90, all stages (min)",
    "time_in_system_min.p90": "time in system p90 (min)",
    "queue_max.total": "longest line, all stages",
    "utilization.swab": "swab utilisation",
    "overtime_min": "overtime (min)",
    "staff_hours": "staff-hours",
    "waiting_over_capacity_person_min": "person-min outside the waiting area",
    "throughput_per_station_hour": "residents per station-hour",
    "residents_per_sampler_hour": "residents per sampler-hour",
    "points_finished_by_deadline_share": "share of points finished by the deadline",
}
FORMATS = {
    "finish_h": "{:,.2f}", "sampled_by_deadline_share": "{:.1%}", "sampled_total": "{:,.0f}", "unserved": "{:,.0f}",
    "wait_min.total.p90": "{:,.1f}", "time_in_system_min.p90": "{:,.1f}", "queue_max.total": "{:,.0f}",
    "utilization.swab": "{:.1%}", "overtime_min": "{:,.1f}", "staff_hours": "{:,.0f}",
    "waiting_over_capacity_person_min": "{:,.0f}",
}
STATS = {"mean": "mean", "p50": "median", "p90": "p90", "p95": "p95", "max": "max"}


def counted(count: int, noun: str) -> str:
    """``count`` and ``noun``, plural but for one: "1 replication", "5 replications", "4,485 points"."""
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def kpi_label(key: str) -> str:
    """A KPI's label: ``wait_min.registration.p90`` -> ``registration: wait p90 (min)``."""
    if key in KNOWN:
        return KNOWN[key]
    parts = key.split(".")
    head, rest = parts[0], parts[1:]
    if head == "wait_min" and len(rest) == 2:
        stage, stat = rest
        where = "all stages" if stage == "total" else stage
        return f"wait {STATS.get(stat, stat)}, {where} (min)" if stage == "total" else f"{where}: wait {STATS.get(stat, stat)} (min)"
    if head == "time_in_system_min" and len(rest) == 1:
        return f"time in system {STATS.get(rest[0], rest[0])} (min)"
    if head == "queue_max" and len(rest) == 1:
        return "longest line, all stages" if rest[0] == "total" else f"{rest[0]}: longest line"
    if head == "utilization" and len(rest) == 1:
        return f"{rest[0]} utilisation"
    if head == "staff_hours_by_role" and len(rest) == 1:
        return f"staff-hours, {rest[0]}"
    if head == "idle_share" and len(rest) == 1:
        return f"{rest[0]}: idle share"
    return key.replace("chain.", "chain: ").replace("_", " ")


def kpi_format(key: str) -> str:
    """A format for the KPI's values: percentages for shares and utilisations."""
    if key in FORMATS:
        return FORMATS[key]
    last = key.split(".")[-1]
    if key.startswith(("utilization.", "idle_share.")) or last.endswith("share"):
        return "{:.1%}"
    return "{:,.2f}"


def short_names(paths: Sequence[Union[str, Sequence[Union[str, int]]]]) -> list[str]:
    """Each path by its shortest distinct ending: ``points.*.tents`` and
    ``points.*.stages.temperature.servers`` -> ``tents``, ``servers``; an ending that starts at a list
    index or ``*`` takes its parent too (``points.0.tents``)."""
    split = [tuple(str(s) for s in (p.split(".") if isinstance(p, str) else p)) for p in paths]
    names = []
    for path in split:
        for length in range(1, len(path) + 1):
            ending = path[-length:]
            if ending[0] == "*" or ending[0].isdigit():
                continue
            if sum(1 for other in split if other[-length:] == ending) == 1:
                names.append(".".join(ending))
                break
        else:
            names.append(".".join(path))
    return names


def stage_name(stage: str) -> str:
    """A stage in a sentence: "the registration stage", "the temperature check stage" (its label, lowercase)."""
    return f"the {stage_label(stage).lower()} stage"
