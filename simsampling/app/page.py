"""The Streamlit page: open a scenario, edit it, run it, see what to do, compare options, sweep a field.

Streamlit runs this script from the top on every interaction; everything that must
last (the draft, the running job, the options kept) lives in ``st.session_state``,
and the runner pool and working folder are shared by the server's sessions
(``st.cache_resource``). Text a visitor wrote (names, descriptions, messages quoting
them) is shown through :func:`plain`, or in tables and charts that show data as data:
never as Markdown or HTML.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from pathlib import Path
from typing import Any, Optional

import pandas as pd
import streamlit as st

from ..experiment import estimate as run_estimate
from ..labels import counted
from ..report.text import inert
from ..experiment.compare import MAIN_KPIS
from ..experiment.factorial import DEFAULT_KPIS, kpi_names
from ..animation import AnimationError, animation_html
from ..metrics import flatten
from ..report.html import formatted, summary_kpi_rows
from ..scenario import ScenarioError
from ..stages import label as stage_label
from . import WORKDIR_ENV
from . import charts
from .editing import (
    FormField,
    Scope,
    arrival_fields,
    blank_text,
    check,
    dump,
    point_fields,
    problems_for,
    resolved_data,
    scenario_fields,
    scopes,
    set_slots,
    set_value,
    slot_rows,
)
from .runner import Job, RunnerPool
from .views import RunView, advice_lines, results_of
from .workspace import Drafts, Workspace, shipped_scenarios, zip_folder

FIRST_CHART_WAIT_S = 1.2
"""How long a Run waits, in the same page update, for a small run's figures (so they show at once)."""
POLL_S = 0.3
"""How often the page asks a running job for progress."""
ANIMATION_HEIGHT_PX = 760
"""The animation's frame in the page: its title, canvas and controls at the results column's width."""
MAX_OPTIONS_COMPARED = 4
MAX_SWEEP_VALUES = 12
DEMO = "one-point-demo.yaml"


# ---------------------------------------------------------------- shared by the server's sessions


@st.cache_resource
def workspace() -> Workspace:
    folder = os.environ.get(WORKDIR_ENV)
    return Workspace(Path(folder) if folder else Path(tempfile.mkdtemp(prefix="simsampling-app-")))


@st.cache_resource
def runner_pool() -> RunnerPool:
    pool = RunnerPool(limit=max(1, run_estimate.usable_cpus()))
    pool.warm()
    return pool


def jobs_for_a_run() -> int:
    """Worker processes a run may use: the cores (a small run stays in the runner's own process)."""
    return min(run_estimate.usable_cpus(), 4)


# ---------------------------------------------------------------- text


_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")


def plain(text: Any) -> str:
    """A visitor's text for a Markdown element, shown as itself: every ASCII punctuation mark escaped
    (CommonMark's backslash escapes), so no link, image, HTML tag or Streamlit directive comes alive, and
    direction overrides and control characters shown as escapes (report/text.py), so none reverses the page."""
    return _PUNCTUATION.sub(r"\\\1", inert(text)).replace("\n", "  \n")


# ---------------------------------------------------------------- the session


def state() -> Any:
    return st.session_state


def start_session() -> None:
    s = state()
    if "drafts" in s:
        return
    s.drafts = Drafts(workspace().new_session())
    s.generation = 0
    s.yaml_generation = 0
    s.job = None
    s.view = None
    s.options = []
    s.runs = 0
    s.message = None
    s.comparison = None
    s.sweep_output = None
    s.last_valid = None
    shipped = shipped_scenarios()
    if DEMO in shipped:
        open_path(s.drafts.from_shipped(shipped[DEMO]))
    else:
        open_path(s.drafts.from_text("my-point.yaml", blank_text()))


def open_path(path: Path) -> None:
    s = state()
    s.draft = path
    s.generation += 1
    s.last_valid = None
    set_text(path.read_text(encoding="utf-8", errors="replace"))


def set_text(text: str, from_form: bool = False) -> None:
    """The scenario's new text: written to its draft file and loaded as the command line would."""
    s = state()
    s.text = text
    s.checked = check(s.draft, text)
    if s.checked.valid:
        s.last_valid = s.checked.scenario
    if from_form:
        s.yaml_generation += 1  # the editor shows the new text
    else:
        s.generation += 1  # the forms show the new values


# ---------------------------------------------------------------- opening


def opening_panel() -> None:
    s = state()
    st.sidebar.header("Scenario")
    shipped = shipped_scenarios()
    if shipped:
        names = list(shipped)
        choice = st.sidebar.selectbox("shipped scenarios", names, index=names.index(DEMO) if DEMO in names else 0,
                                      key="shipped_choice")
        if st.sidebar.button("Open the scenario", key="open_shipped"):
            open_path(s.drafts.from_shipped(shipped[choice]))
    uploads = st.sidebar.file_uploader("or upload a scenario (.yaml) with its points tables (.csv)",
                                       type=["yaml", "yml", "csv"], accept_multiple_files=True, key="uploads")
    if uploads and st.sidebar.button("Open the upload", key="open_upload"):
        try:
            open_path(s.drafts.from_upload([(upload.name, upload.getvalue()) for upload in uploads]))
        except ScenarioError as exc:
            s.message = ("error", [str(problem) for problem in exc.problems])
    if st.sidebar.button("Start from a blank point", key="open_blank"):
        open_path(s.drafts.from_text("my-point.yaml", blank_text()))
    st.sidebar.caption(f"Editing **{plain(s.draft.name)}**. Files stay in the app's working folder; "
                       "a points table must be uploaded with its scenario.")
    st.sidebar.download_button("Download the scenario (YAML)", s.text.encode("utf-8"), file_name=s.draft.name,
                               mime="application/x-yaml", key="download_yaml")


# ---------------------------------------------------------------- editing


def field_input(field: FormField, key: str) -> None:
    """One input; its change is written into the scenario's text (and validated) at once."""
    value = field.value
    common = {"key": key, "on_change": on_field_change, "args": (field, key)}
    if field.kind == "choice" and value in field.options:
        st.selectbox(field.label, field.options, index=field.options.index(value), **common)
    elif field.kind in ("int", "float") and isinstance(value, (int, float)) and not isinstance(value, bool):
        if field.kind == "int" and isinstance(value, int):
            st.number_input(field.label, value=value, step=1, **common)
        else:
            st.number_input(field.label, value=float(value), step=_step(float(value)), format="%g", **common)
    else:  # clocks, servers (per_tent or a count), optional values, and anything the file holds that is not a number
        st.text_input(field.label, value="" if value is None else str(value), **common)
    s = state()
    for problem in problems_for(s.checked.problems, field.name):
        st.error(plain(problem))


def _step(value: float) -> float:
    return 0.05 if 0 < abs(value) <= 1 else 1.0


def on_field_change(field: FormField, key: str) -> None:
    s = state()
    raw = s[key]
    if isinstance(raw, str):
        raw = _scalar(raw)
    resolved = resolved_data(s.last_valid)
    scope = s.get("scope_now")
    data = set_value(s.checked.data, field.path, raw, resolved, scope)
    set_text(dump(data), from_form=True)


def _scalar(text: str) -> Any:
    """Typed text read as a YAML scalar (``4`` a number, ``per_tent`` text, empty: the default)."""
    import yaml

    text = text.strip()
    if text == "":
        return None
    if re.fullmatch(r"\d{1,2}:\d{2}", text):
        return text  # a time of day stays text
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    return value if isinstance(value, (int, float, str, bool)) else text


def form_panel() -> None:
    s = state()
    data = s.checked.data
    if not isinstance(data, dict):
        st.info("The form needs a scenario the YAML editor can read: fix the problem shown beside the editor.")
        return
    resolved = resolved_data(s.checked.scenario or s.last_valid)
    found = scopes(data, s.checked.scenario or s.last_valid)
    scope: Optional[Scope] = None
    if found:
        labels = [scope.label for scope in found]
        chosen = st.selectbox("edit", labels, key=f"{s.generation}:scope") if len(found) > 1 else labels[0]
        scope = found[labels.index(chosen)]
        if "points_file" in data:
            st.caption("Points from the points table override these values where its columns give them.")
    s.scope_now = scope
    groups: dict[str, list[FormField]] = {}
    for field in scenario_fields(data, resolved) + (point_fields(data, resolved, scope) if scope else []) \
            + arrival_fields(data, resolved, scope):
        groups.setdefault(field.group, []).append(field)
    for group, fields in groups.items():
        with st.expander(stage_label(group) if "stages" in fields[0].path else group.capitalize(),
                         expanded=group in ("point", "swab", "arrivals")):
            for field in fields:
                field_input(field, f"{s.generation}:{field.name}")
            if group == "arrivals":
                slots_table(data, scope)


def slots_table(data: dict, scope: Optional[Scope]) -> None:
    s = state()
    rows = slot_rows(data, scope)
    if rows is None:
        return
    st.caption("Calling slots: each slot's share of the residents (shares sum to 1); days count from 0.")
    edited = st.data_editor(pd.DataFrame(rows, columns=["start", "end", "share", "day"]), num_rows="dynamic",
                            key=f"{s.generation}:slots", hide_index=True, width="stretch")
    new_rows = [{key: (None if pd.isna(value) else value) for key, value in row.items()}
                for row in edited.to_dict("records")]
    new_rows = [{**row, "day": int(row["day"]) if isinstance(row.get("day"), float) else row.get("day"),
                 "share": float(row["share"]) if row.get("share") is not None else None} for row in new_rows]
    if new_rows != rows:
        set_text(dump(set_slots(data, scope, new_rows)), from_form=True)
        st.rerun()
    for problem in problems_for(s.checked.problems, "arrivals.slots"):
        st.error(plain(problem))


def yaml_panel() -> None:
    s = state()
    st.caption("Everything else, in the scenario's YAML (docs/scenario-format.md). "
               "A change in the form rewrites this text (comments are not kept).")
    text = st.text_area("scenario YAML", value=s.text, height=560, key=f"yaml:{s.yaml_generation}:{s.generation}",
                        label_visibility="collapsed")
    if text != s.text:
        set_text(text)
        st.rerun()


def validity() -> None:
    """Whether the scenario runs, and every problem the loader found, as it words them."""
    s = state()
    if s.checked.valid:
        scenario = s.checked.scenario
        residents = sum(p.population for p in scenario.points)
        st.success(f"Valid: {len(scenario.points):,} point(s), {residents:,} residents, "
                   f"{sum(p.stations for p in scenario.points):,} stations, {counted(scenario.replications, 'replication')}.")
    else:
        st.error("Not valid; nothing runs until it is:\n\n" + "\n\n".join(plain(p) for p in s.checked.problems))


# ---------------------------------------------------------------- running


def run_panel() -> None:
    s = state()
    validity()
    label = "Run" if s.checked.valid else "Run (fix the scenario first)"
    if st.button(label, type="primary", disabled=s.job is not None or not s.checked.valid, key="run_button"):
        start_run()
    if s.message is not None:
        kind, lines = s.message
        (st.error if kind == "error" else st.info)("\n\n".join(plain(line) for line in lines))
    if s.job is not None:
        job_progress()


def start_run() -> None:
    s = state()
    scenario = s.checked.scenario
    s.message = None
    estimate = run_estimate.estimate_run(scenario, jobs_for_a_run())
    try:
        run_estimate.check_memory(estimate, s.draft.name)
    except ScenarioError as exc:
        s.message = ("error", [str(problem) for problem in exc.problems])
        return
    s.runs += 1
    folder = s.drafts.session / "runs" / f"run-{s.runs}"
    folder.mkdir(parents=True)
    job = Job.start(runner_pool(), "run", folder, scenario=scenario, jobs=jobs_for_a_run())
    if job is None:
        folder.rmdir()
        s.message = ("info", ["Other runs are using every core: run again in a moment."])
        return
    job.estimate = estimate.describe()
    job.context = {"scenario": scenario, "text": s.text, "file": s.draft.name}
    s.job = job
    job.poll(wait_s=FIRST_CHART_WAIT_S)  # a small run's figures arrive within this page update
    deadline = time.monotonic() + FIRST_CHART_WAIT_S
    while job.output is None and not job.finished and time.monotonic() < deadline:
        job.poll(wait_s=0.05)
    take_output(job)


def take_output(job: Job) -> None:
    """Move what a job has sent into the page's state; forget the job once it is over."""
    s = state()
    if job.kind == "run" and job.output is not None and job.option is None:
        s.view = job.output
        s.options.append({"name": f"{len(s.options) + 1}. {job.output.name}", **job.context, "view": job.output,
                          "folder": job.folder})
        job.option = len(s.options) - 1
    if job.kind in ("compare", "sweep") and job.output is not None:
        setattr(s, "comparison" if job.kind == "compare" else "sweep_output", job.output)
    if job.finished:
        if job.problems:
            s.message = ("error", job.problems)
        elif job.error:
            s.message = ("error", [f"the run failed: {job.error}"])
        s.job = None


@st.fragment(run_every=POLL_S)
def job_progress() -> None:
    """The running job's progress, estimate and Cancel button, refreshed on their own while the page stays live."""
    s = state()
    job: Optional[Job] = s.job
    if job is None:
        return
    had_output = job.output is not None
    job.poll()
    if (job.output is not None) != had_output or job.finished:
        take_output(job)
        st.rerun(scope="app")
    what = {"run": "simulating", "compare": "comparing", "sweep": "sweeping"}[job.kind]
    share = job.done / job.total if job.total else 0.0
    text = f"{what}: {job.done:,} of {job.total:,} tasks" if job.total else f"{what}: starting (a large run starts worker processes first)"
    if job.label:
        text += f" ({plain(job.label)})"
    if job.note:
        text += f"; {plain(job.note)}"
    st.progress(min(1.0, share), text=text)
    st.caption(f"{plain(job.estimate)}; {job.elapsed_s:.1f} s so far")
    if st.button("Cancel", key="cancel_button"):
        job.cancel()
        s.job = None
        s.message = ("info", ["Cancelled: the run was stopped and nothing it wrote was kept."])
        st.rerun(scope="app")


# ---------------------------------------------------------------- results


def results_panel() -> None:
    s = state()
    view: Optional[RunView] = s.view
    if view is None:
        st.info("Press Run to see the results here.")
        return
    summary = view.summary
    option = next((o for o in s.options if o["view"] is view), None)
    folder = results_of(option) if option is not None else None  # reads the advice, once written
    st.subheader(f"Results: {plain(view.name)}")
    st.caption(f"{counted(summary['replications'], 'replication')}, seed {summary['seed']}; "
               f"{plain(summary['engine']['asked'])} engine; {summary['elapsed_s']:.2f} s to simulate.")
    advice_panel(view)
    key_figures(view)
    for name, make, caption in (
        ("cumulative", lambda: charts.cumulative_chart(view), "Line: mean over replications; band: the lowest and highest "
         "replication; grey dashes: residents arrived; red: the population and (dashed) the deadline; dotted: openings "
         "and closings. Hover for values, drag or scroll to zoom into hours."),
        ("queues", lambda: charts.queue_chart(view), "Mean line length per stage (band: lowest and highest replication)"
         + (", all points together." if view.several_points else ".")),
        ("throughput", lambda: charts.throughput_chart(view), "Mean per clock hour with its 95% CI; dashed: the "
         "stations' nominal swab capacity (stations x 3600 / mean swab time)."),
        ("utilisation", lambda: charts.utilisation_chart(summary), "Share of the staffed time each stage's servers "
         "spent serving (mean, 95% CI)."),
    ):
        draw(view, name, make)
        st.caption(caption)
    if view.several_points:
        points_panel(view)
    if folder is not None:
        animation_panel(view, folder)
        st.download_button("Download the results folder (zip)", zip_folder(folder),
                           file_name=f"{folder.parent.name}-results.zip", mime="application/zip", key="download_zip")
    elif option is not None:
        results_pending(option)


def animation_panel(view: RunView, folder: Path) -> None:
    """The day at one point, as ``simsampling animate`` draws it from the results folder.

    Built only when asked (a few seconds for a point's whole day) and kept with the run,
    so that the page's later updates do not build it again.
    """
    points = view.summary["points"]
    with st.expander("Watch the day at a point (animation)", expanded=bool(view.animations)):
        point = None
        if len(points) > 1:
            labels = {p["id"]: f"{plain(p['name'])} ({plain(p['id'])})" for p in points}
            point = st.selectbox("Point (default: the one with the longest line)", [None, *labels],
                                 format_func=lambda key: "the longest line" if key is None else labels[key],
                                 key="animation_point")
        key = point
        if key not in view.animations and st.button("Draw the day", key="animate"):
            with st.spinner("Drawing the day from the event log..."):
                try:
                    view.animations[key] = animation_html(folder, point)
                except AnimationError as error:
                    view.animations[key] = error
        shown = view.animations.get(key)
        if isinstance(shown, AnimationError):
            st.error(plain(str(shown)))
        elif shown is not None:
            st.caption("The first replication, redrawn from its event log: residents in line, at the servers and "
                       "leaving; play, pause or drag the clock. The same page as `simsampling animate` writes.")
            st.iframe(shown, height=ANIMATION_HEIGHT_PX)


def draw(view: RunView, name: str, make) -> None:
    """A chart of the run, its spec made once and kept with the run's figures."""
    if name not in view.specs:
        view.specs[name] = make()
    st.vega_lite_chart(spec=view.specs[name], width="stretch")


def advice_panel(view: RunView) -> None:
    """summary.json's ``advice`` (the diagnosis: what limits the round, the bottleneck, what to change), when the run has it."""
    advice = view.advice
    if advice is None:
        return
    with st.container(border=True):
        st.markdown("**What to do** (the run's diagnosis, `advice` in summary.json)")
        for line in advice_lines(advice):
            st.markdown(f"- {plain(line)}")


def key_figures(view: RunView) -> None:
    """The run's KPIs with their 95% CIs: the rows of the command line's table and of report.html."""
    waiting_area = bool(flatten(view.summary["kpis"]).get("waiting_over_capacity_person_min", {}).get("mean"))
    rows = summary_kpi_rows(view.summary, len(view.summary["points"]), waiting_area)
    table = pd.DataFrame([{"KPI": row.label.strip(), "mean": row.mean, "95% CI": row.ci95,
                           "n": formatted(row.leaf.get("n"), "{:d}")} for row in rows]).set_index("KPI")
    st.markdown("**Key figures** (mean over replications, 95% confidence interval)")
    st.table(table)  # our labels and numbers only: no visitor's text


def points_panel(view: RunView) -> None:
    st.markdown("**Points** (click a column to sort; slowest first)")
    rows = []
    for point in view.summary["points"]:
        kpis = point["kpis"]
        finish = kpis["finish_h"]
        rows.append({"point": point["id"], "name": point["name"], "residents": point["population"],
                     "stations": point["stations"], "last sample (h)": finish["mean"],
                     "95% CI low": (finish["ci95"] or [None, None])[0], "95% CI high": (finish["ci95"] or [None, None])[1],
                     "sampled by deadline": kpis["sampled_by_deadline_share"]["mean"],
                     "total wait p90 (min)": flatten(kpis).get("wait_min.total.p90", {}).get("mean"),
                     "most waiting": flatten(kpis).get("queue_max.total", {}).get("mean"),
                     "swab utilisation": flatten(kpis).get("utilization.swab", {}).get("mean"),
                     "diverted": kpis["diverted"]["mean"], "stages": " > ".join(point["stages"])})
    frame = pd.DataFrame(rows).sort_values("last sample (h)", ascending=False)
    if not frame["diverted"].any():  # no side stage at any point
        frame = frame.drop(columns="diverted")
    if frame["stages"].nunique() == 1:  # one layout: the key figures name its stages
        frame = frame.drop(columns="stages")
    st.dataframe(frame, hide_index=True, width="stretch", column_config={
        "sampled by deadline": st.column_config.NumberColumn(format="percent"),
        "swab utilisation": st.column_config.NumberColumn(format="percent"),
        "last sample (h)": st.column_config.NumberColumn(format="%.2f"),
    })
    st.markdown("**The slowest points**")
    columns = st.columns(2)
    for index, point in enumerate(view.slowest):
        finish = point["finish_h"]["mean"]
        title = f"{point['id']}: last sample {finish:.2f} h after opening" if finish is not None else point["id"]
        with columns[index % 2]:
            draw(view, f"slowest-{index}", lambda: charts.queue_chart(view, point["queues"], title=title))


@st.fragment(run_every=POLL_S)
def results_pending(option: dict) -> None:
    """Wait, on its own, for the results folder being written beside the page; then offer its zip."""
    if results_of(option) is not None:
        st.rerun(scope="app")
    st.caption("The results folder is being written; its zip will be offered here.")


# ---------------------------------------------------------------- options: compare and sweep


def options_panel() -> None:
    s = state()
    if not s.options:
        st.info("Every run is kept here as an option: run the scenario, change it, run again, then compare.")
        return
    for index, option in enumerate(s.options):
        left, right = st.columns([3, 1])
        option["name"] = left.text_input(f"option {index + 1}", value=option["name"], key=f"option-name-{index}")
        kpis = option["view"].summary["kpis"]
        right.metric("sampled by the deadline", formatted(kpis["sampled_by_deadline_share"]["mean"], "{:.1%}"))
    names = [option["name"] for option in s.options]
    chosen = st.multiselect(f"options to compare (2 to {MAX_OPTIONS_COMPARED}; the first is the baseline A)", names,
                            default=names[-2:] if len(names) >= 2 else [], max_selections=MAX_OPTIONS_COMPARED,
                            key=f"compare_choice:{len(names)}")
    if st.button("Compare", disabled=len(chosen) < 2 or s.job is not None, key="compare_button"):
        picked = [s.options[names.index(name)] for name in chosen]
        start_experiment("compare", "the options run again with the first one's seed and replications "
                         "(common random numbers)", scenarios=[o["scenario"] for o in picked], names=chosen)
    if s.comparison is not None:
        comparison_table(s.comparison)


def start_experiment(kind: str, note: str, **work: Any) -> None:
    """Hand a comparison or a sweep to a runner; its output replaces the last one's when it comes."""
    s = state()
    job = Job.start(runner_pool(), kind, jobs=jobs_for_a_run(), **work)
    if job is None:
        s.message = ("info", [f"Other runs are using every core: {kind} again in a moment."])
        return
    job.estimate = note
    s.job = job
    setattr(s, "comparison" if kind == "compare" else "sweep_output", None)
    st.rerun()


def comparison_table(comparison: dict[str, Any]) -> None:
    labels, names = comparison["labels"], comparison["names"]
    base = labels[0]
    st.markdown("**Side by side** (mean, 95% CI; differences paired by replication under common random numbers)")
    st.table(pd.DataFrame([{"label": label, "option": plain(name)} for label, name in zip(labels, names)]).set_index("label"))
    rows = []
    for key, title, fmt in MAIN_KPIS:
        row = comparison["table"].get(key)
        if row is None:
            continue
        line = {"KPI": title}
        for label in labels:
            line[label] = formatted((row[label] or {}).get("mean"), fmt)
        for label in labels[1:]:
            diff = row["differences"].get(f"{label}-{base}")
            if diff is None or diff["mean"] is None:
                line[f"{label} - {base}"] = "n/a"
                continue
            ci = diff["ci95"]
            text = formatted(diff["mean"], fmt.replace("{:", "{:+"))
            if ci:
                text += f" [{formatted(ci[0], fmt)}, {formatted(ci[1], fmt)}]"
            line[f"{label} - {base}"] = text + (" *" if diff.get("significant") else "")
        rows.append(line)
    st.table(pd.DataFrame(rows).set_index("KPI"))
    st.caption("\\* the 95% interval of the paired difference excludes 0. " + " ".join(map(plain, comparison["notes"])))


def sweep_panel() -> None:
    s = state()
    scenario = s.checked.scenario
    if scenario is None:
        st.info("A sweep needs a valid scenario.")
        return
    data = s.checked.data
    resolved = resolved_data(scenario)
    scope = s.get("scope_now")
    numeric = [f for f in scenario_fields(data, resolved) + (point_fields(data, resolved, scope) if scope else [])
               + arrival_fields(data, resolved, scope)
               if isinstance(f.value, (int, float)) and not isinstance(f.value, bool) and f.path[0] not in ("seed", "replications")]
    if not numeric:
        st.info("This scenario has no number to sweep in the form.")
        return
    labels = [f"{f.name} ({f.label})" for f in numeric]
    field = numeric[labels.index(st.selectbox("field", labels, key="sweep_field"))]
    path = ".".join(str(part) for part in (("points", "*") + field.path[1:] if field.path[0] == "defaults" else field.path))
    value = field.value
    integer = isinstance(value, int)
    high = max(value * 2, value + 4) if integer else max(value * 2.0, 1.0)
    if integer:
        low_high = st.slider("range", 0, int(high), (max(0, int(value) - 2), int(value) + 2), key=f"sweep_range:{path}")
        values = list(range(low_high[0], low_high[1] + 1))
        if len(values) > MAX_SWEEP_VALUES:
            step = -(-len(values) // MAX_SWEEP_VALUES)
            values = values[::step]
    else:
        low_high = st.slider("range", 0.0, float(high), (float(value) * 0.5, float(value) * 1.5), key=f"sweep_range:{path}")
        count = st.slider("values", 2, MAX_SWEEP_VALUES, 5, key="sweep_count")
        values = [round(low_high[0] + (low_high[1] - low_high[0]) * i / (count - 1), 6) for i in range(count)]
    names = list(DEFAULT_KPIS) + [k for k in kpi_names(scenario) if k not in DEFAULT_KPIS]
    kpi = st.selectbox("KPI", names, key="sweep_kpi")
    st.caption(f"{len(values)} values of {path}: {', '.join(str(v) for v in values)}; common random numbers "
               f"(seed {scenario.seed}, {counted(scenario.replications, 'replication')}).")
    if st.button("Sweep", disabled=s.job is not None, key="sweep_button"):
        start_experiment("sweep", f"{len(values)} runs of the scenario", scenario=scenario, path=path, values=values,
                         kpi=kpi)
    if s.sweep_output is not None:
        sweep_result(s.sweep_output)


def sweep_result(sweep: dict[str, Any]) -> None:
    rows = sweep["rows"]
    st.vega_lite_chart(spec=charts.sweep_chart(rows, sweep["path"], sweep["kpi"]), width="stretch")
    st.table(pd.DataFrame([{sweep["path"]: str(row["value"]), "mean": formatted(row["mean"], "{:,.4g}"),
                            "95% CI": "" if not row["ci95"] else f"{formatted(row['ci95'][0], '{:,.4g}')} – "
                                                                 f"{formatted(row['ci95'][1], '{:,.4g}')}"}
                           for row in rows]).set_index(sweep["path"]))


# ---------------------------------------------------------------- the page


def main() -> None:
    st.set_page_config(page_title="simsampling: what if", layout="wide")
    runner_pool()  # the first runner warms while the visitor reads
    start_session()
    opening_panel()
    st.title("simsampling: what if")
    editing, outcome = st.columns([2, 3], gap="large")
    with editing:
        form_tab, yaml_tab = st.tabs(["Form", "YAML"])
        with form_tab:
            form_panel()
        with yaml_tab:
            yaml_panel()
    with outcome:
        run_panel()
        results_tab, options_tab, sweep_tab = st.tabs(["Results", "Options", "Sweep"])
        with results_tab:
            results_panel()
        with options_tab:
            options_panel()
        with sweep_tab:
            sweep_panel()
