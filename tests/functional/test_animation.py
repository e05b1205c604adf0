"""The animation checked against the log, on whole small runs.

* a resident drawn at server k of a stage at time t is exactly the resident that persons.csv has in
  service there at t (read independently of the animation), and everyone persons.csv has in service
  is drawn; the sampling stations by their number, the other servers one resident each;
* the count written for each line is the number of residents in ``EventLog.line`` (what the time
  series integrates) at that moment, to the resident, and drawn dots plus "+N more" add up to it;
  over each minute its time average is timeseries.csv's ``queue_mean`` (one replication);
* balking, reneging, priority residents, breaks (closed stations), lines per station, registration
  desks, pooled tubes and disinfection all appear; a line of over 5,000 is thinned, a window too heavy
  refused;
* ``simsampling animate``: files written whole, never over an existing one, exit statuses;
* animation.html opens in headless Chromium without errors, draws what the data says, and its
  screenshot is not blank (skipped when chromium is not installed).
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import simsampling
from simsampling.animation import AnimationError, animation_html
from simsampling.animation.build import MAX_DRAWN_FRAMES, build_animation, parse_clock
from simsampling.animation.frames import frame_at, residents_of
from simsampling.animation.layout import MAX_DRAWN
from simsampling.animation.scene import read_results, scene_of_run
from simsampling.cli import main
from simsampling.scenario import validate_scenario

CHROMIUM = shutil.which("chromium")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed: apt-get install chromium")


def scenario(name: str, point: dict, seed: int = 3, **extra) -> dict:
    return {"name": name, "seed": seed, "replications": 1, "clock": {"open": "08:00", "close": "11:00"},
            "points": [point], "arrivals": {"kind": "slots", "lateness_min": {"dist": "normal", "mean": 0, "sd": 5},
                                            "slots": [{"start": "08:00", "end": "09:00", "share": 0.7},
                                                      {"start": "09:30", "end": "10:30", "share": 0.3}]}, **extra}


BEHAVIOUR = scenario("behaviour", {
    "id": "busy-1", "name": "Busy <b>square</b></script><script>alert(1)</script> \u202eright", "population": 700, "tents": 3,
    "stages": {"temperature": {"servers": 1}, "registration": {"servers": "per_tent"}, "swab": {"servers": "per_tent"}},
    "staff": {"breaks": {"every_min": 40, "length_min": 10}},
    "green_channel": {"share": 0.1, "channel": "priority", "service_factor": 1.5},
    "balking": {"threshold": {"dist": "uniform", "low": 40, "high": 90}, "return_share": 0.5,
                "return_after_min": {"dist": "triangular", "low": 10, "mode": 20, "high": 30}},
    "reneging": {"patience_min": {"dist": "lognormal", "mean": 25, "sd": 10}},
    "waiting_area": {"length_m": 30},
})
DESKS = scenario("desks", {
    "id": "desks-1", "population": 500, "tents": 2, "queue": "per_tent",
    "stages": {"temperature": {"servers": 2}, "registration": {"servers": 2},
               "swab": {"servers": 4, "disinfection_s": {"dist": "triangular", "low": 5, "mode": 8, "high": 12}}},
    "green_channel": {"share": 0.1, "channel": "dedicated", "stations": 1},
    "pooling": {"ratio": 5},
    "reneging": {"patience_min": {"dist": "lognormal", "mean": 30, "sd": 10}},
}, seed=8)
FLOW = scenario("flow", {
    "id": "flow-1", "population": 500, "tents": 3,
    "stages": {"health_code": {"servers": 2}, "id_check": {"servers": 1, "service_s": {"dist": "exponential", "mean": 5}},
               "temperature": {"divert": {"share": 0.1, "to": "isolation"}}, "registration": {"servers": 2},
               "swab": {"reserved": {"share": 0.1, "stations": 1}},
               "isolation": {"servers": 2, "service_s": {"dist": "fixed", "value": 900}}},
}, seed=5)
RUNS = {"behaviour": BEHAVIOUR, "desks": DESKS, "flow": FLOW}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    done = {}
    for name, data in RUNS.items():
        result = simsampling.run_scenario(validate_scenario(data))
        folder = tmp_path_factory.mktemp("animation") / name
        simsampling.write_results(result, folder)
        done[name] = (result, folder)
    return done


def persons_rows(folder: Path, point: str) -> list[dict]:
    """persons.csv's rows of a point for residents who came, read without the animation's code."""
    with (folder / "persons.csv").open(newline="", encoding="utf-8") as handle:
        return [row for row in csv.DictReader(handle) if row["point"] == point and not row["status"].startswith("home")]


def number(text: str) -> float:
    return float(text) if text else math.nan


def drawn_groups(animation, index: int) -> dict[tuple, list[int]]:
    """Frame ``index`` as drawn: for each group of places, the residents (persons.csv ids) on it, front first."""
    owner = {}
    for key, (first, room) in animation.layout.groups.items():
        for offset in range(room):
            owner[first + offset] = (key, offset)
    pairs = animation.drawn[index].reshape(-1, 2)
    ids = animation.scene.persons["resident"][animation.residents]
    groups: dict[tuple, list[tuple[int, int]]] = {}
    for resident, place in pairs.tolist():
        key, offset = owner[place]
        groups.setdefault(key, []).append((offset, int(ids[resident])))
    return {key: [who for _, who in sorted(members)] for key, members in groups.items()}


@pytest.mark.parametrize("name", list(RUNS))
def test_servers_hold_exactly_whom_persons_csv_has_in_service(runs, name):
    result, folder = runs[name]
    point = result.scenario.points[0].id
    rows = persons_rows(folder, point)
    animation = build_animation(read_results(folder), step_s=7.0)
    stages = animation.scene.stages
    checked = 0
    for index, t in enumerate(animation.times.tolist()):
        groups = drawn_groups(animation, index)
        for s, stage in enumerate(stages):
            name_ = stage["name"]
            in_service = {int(r["resident"]): r for r in rows
                          if number(r[f"{name_}_start_s"]) <= t < number(r[f"{name_}_end_s"])}
            at_servers = {key[2]: who for key, who in groups.items() if key[:2] == ("server", s)}
            assert all(len(who) == 1 for who in at_servers.values())
            assert sorted(who[0] for who in at_servers.values()) == sorted(in_service), (name_, t)
            assert all(k < stage["servers"] for k in at_servers)
            if stage["server_column"] == "station":
                for k, (resident,) in at_servers.items():
                    # -1: a resident who left while keeping its registrar (the log never gave it a station).
                    assert int(in_service[resident]["station"]) in (k, -1), (name_, t, resident)
            checked += len(in_service)
    assert checked > 1000


@pytest.mark.parametrize("name", list(RUNS))
def test_line_counts_are_the_logs_lines_at_every_frame(runs, name):
    result, folder = runs[name]
    log = result.first_logs[0]
    animation = build_animation(read_results(folder), step_s=11.0)
    names = [stage["name"] for stage in animation.scene.stages]
    assert names == list(log.stages)  # the flow's stages are the log's, in walking order
    for index, (frame, t) in enumerate(zip(animation.frames, animation.times.tolist())):
        counts = animation.counts(frame)
        groups = drawn_groups(animation, index)
        hidden = dict(zip(frame_more_keys(animation, index), animation.more[index][1::2]))
        for s, stage in enumerate(names):
            joins, leaves = log.line(stage)
            expected = int(np.count_nonzero((joins <= t) & (t < leaves)))
            assert frame.waiting[s] == counts[s] == expected, (stage, t)
            line = {"shared": [("line", s)], "per_station": [k for k in groups if k[:2] == ("lane", s)],
                    "at_previous": [k for k in groups if k[:2] == ("held", s - 1)]}[animation.scene.stages[s]["line"]]
            shown = sum(len(groups.get(k, [])) for k in line) + sum(hidden.get(k, 0) for k in line)
            assert shown == expected, (stage, t)
        assert sum(len(who) for who in groups.values()) <= MAX_DRAWN


def frame_more_keys(animation, index: int) -> list[tuple]:
    return [animation.more_keys[k] for k in animation.more[index][0::2]]


def test_line_counts_average_to_timeseries_csv(runs):
    result, folder = runs["behaviour"]
    scene = read_results(folder)
    residents = residents_of(scene)
    with (folder / "timeseries.csv").open(newline="", encoding="utf-8") as handle:
        series = [row for row in csv.DictReader(handle) if row["point"] == scene.point_id]
    busiest = sorted(series, key=lambda row: -float(row["queue_mean"]))[:30]
    for row in busiest + series[::37]:
        s = [stage["name"] for stage in scene.stages].index(row["stage"])
        track = residents.tracks[s]
        begin = float(row["minute"]) * 60.0
        events = np.concatenate([track.enter[track.stood], track.leave[track.stood]])
        cuts = np.unique(np.concatenate([[begin, begin + 60.0], events[(events > begin) & (events < begin + 60.0)]]))
        counts = [frame_at(residents, float(t), scene.spells).waiting[s] for t in cuts[:-1]]
        average = float(np.dot(counts, np.diff(cuts))) / 60.0
        # persons.csv keeps times to the millisecond: each event moves by at most 0.5 ms.
        assert average == pytest.approx(float(row["queue_mean"]), abs=2e-3 + 1e-5 * cuts.size), row


def test_behaviour_and_layouts_are_all_drawn(runs):
    animation = build_animation(read_results(runs["behaviour"][1]), step_s=20.0)
    seen = {key[0] for index in range(len(animation.frames)) for key in drawn_groups(animation, index)}
    assert {"line", "server", "held", "exit", "gave_up"} <= seen
    states = {state for frame in animation.frames for state in frame.stations.values()}
    assert "closed_break" in states
    colours = set(animation.colours.tolist())
    assert colours == {0, 1, 2}  # QR, manual, priority
    assert max(f.waiting_total for f in animation.frames) > 30  # the waiting area (30 places) overflows
    desks = build_animation(read_results(runs["desks"][1]), step_s=20.0)
    seen = {key[0] for index in range(len(desks.frames)) for key in drawn_groups(desks, index)}
    assert {"line", "lane", "server", "exit"} <= seen
    assert {"sealing", "disinfection"} <= {state for frame in desks.frames for state in frame.stations.values()}
    flow = build_animation(read_results(runs["flow"][1]), step_s=20.0)
    isolation = [stage["name"] for stage in flow.scene.stages].index("isolation")
    seen = {key[:2] for index in range(len(flow.frames)) for key in drawn_groups(flow, index)}
    assert {("line", isolation), ("server", isolation), ("diverted",)} <= seen  # the side route, drawn below the flow
    assert flow.frames[-1].diverted == int(np.count_nonzero(flow.scene.persons["status"] == "diverted")) > 0
    places = flow.layout.places
    server_y = {key: places[first][1] for key, (first, _) in flow.layout.groups.items() if key[0] == "server"}
    assert max(y for key, y in server_y.items() if key[1] != isolation) < server_y[("server", isolation, 0)]


def test_priority_residents_stand_first_in_line(runs):
    animation = build_animation(read_results(runs["behaviour"][1]), step_s=15.0)
    priority = set(animation.scene.persons["resident"][animation.scene.persons["priority"]].tolist())
    for index in range(len(animation.frames)):
        for key, who in drawn_groups(animation, index).items():
            if key[0] == "line":
                flags = [resident in priority for resident in who]
                assert flags == sorted(flags, reverse=True), key


def test_the_run_in_memory_gives_the_folders_scene(runs):
    result, folder = runs["behaviour"]
    from_memory, from_files = scene_of_run(result), read_results(folder)
    assert from_memory.flow == from_files.flow
    assert [(a, b, e) for a, b, _, _, e in from_memory.spells] == [(a, b, e) for a, b, _, _, e in from_files.spells]
    assert np.allclose([s[2:4] for s in from_memory.spells], [s[2:4] for s in from_files.spells], atol=1e-3)
    for name, values in from_files.persons.items():
        mine = from_memory.persons[name]
        if values.dtype.kind == "f":
            assert np.allclose(mine, values, atol=6e-4, equal_nan=True), name
        else:
            assert (mine == values).all(), name
    text = animation_html(result, start_s=8 * 3600.0, end_s=9 * 3600.0)
    assert text.startswith("<!DOCTYPE html>") and "Busy &lt;b&gt;square&lt;/b&gt;&lt;/script&gt;" in text
    assert text.count("<script") == 2 and "alert(1)</script>" not in text  # the data and the player, nothing else
    # A direction override in a name is shown, never obeyed: it would reverse the title on the page and the canvas.
    data = json.loads(re.search(r'id="animation-data">(.*?)</script>', text, re.S).group(1))
    assert "\u202e" not in text and not any("\u202e" in shape.get("s", "") for shape in data["shapes"])
    assert "\\u202eright" in text


def test_a_long_line_is_thinned_and_a_heavy_window_refused():
    crowd = scenario("crowd", {"id": "crowd", "population": 6000, "tents": 1, "stages": {"swab": {}},
                               "waiting_area": {"length_m": 200}})
    crowd["arrivals"]["slots"] = [{"start": "08:00", "end": "08:10", "share": 1.0}]
    crowd["arrivals"]["show_up"] = 1.0
    scene = scene_of_run(simsampling.run_scenario(validate_scenario(crowd)))  # as its folder would give it (tested above)
    animation = build_animation(scene, parse_clock("08:00", "--from"), parse_clock("09:00", "--to"), 60.0)
    assert any("+N more" in note for note in animation.notes)
    peak = max(frame.waiting_total for frame in animation.frames)
    assert peak > MAX_DRAWN
    for index, frame in enumerate(animation.frames):
        hidden = sum(animation.more[index][1::2])
        groups = drawn_groups(animation, index)
        assert len(groups.get(("line", 0), [])) + hidden == frame.waiting[0]
        assert sum(len(who) for who in groups.values()) <= MAX_DRAWN
    with pytest.raises(AnimationError, match="--step-s"):
        build_animation(scene, parse_clock("08:00", "--from"), parse_clock("09:10", "--to"), 1.0)  # 1,500 a frame
    assert MAX_DRAWN_FRAMES < 10_000_000


# ------------------------------------------------------------------ the command


def test_animate_writes_once_and_refuses_to_overwrite(runs, capsys):
    _, folder = runs["desks"]
    assert main(["animate", str(folder), "--from", "08:30", "--to", "09:00"]) == 0
    target = folder / "animation.html"
    first = target.read_text(encoding="utf-8")
    assert "08:30-09:00" in capsys.readouterr().out
    assert main(["animate", str(folder)]) == 2
    assert "already exists" in capsys.readouterr().err and target.read_text(encoding="utf-8") == first
    assert main(["animate", str(folder), "--force", "--step-s", "30"]) == 0
    assert target.read_text(encoding="utf-8") != first
    assert main(["animate", str(folder), "--format", "png", "--from", "08:00", "--to", "09:00"]) == 0
    assert main(["animate", str(folder), "--format", "gif", "--from", "08:40", "--to", "08:50", "--step-s", "60"]) == 0
    from PIL import Image

    with Image.open(folder / "animation.png") as still:
        assert still.size == (1280, 720) and len(still.convert("RGB").getcolors(1 << 16)) > 20
    with Image.open(folder / "animation.gif") as gif:
        assert gif.n_frames == 11
    assert [p.name for p in folder.iterdir() if p.name.startswith(".")] == [".simsampling-files"], "temporary files left"


@pytest.mark.parametrize("arguments, where", [
    (["--point", "nowhere"], "--point"),
    (["--from", "8h"], "--from"),
    (["--from", "10:00", "--to", "09:00"], "--to"),
    (["--step-s", "0"], "--step-s"),
    (["--from", "99999999:00"], "--from"),  # long after the point's day: nothing to draw
    (["--from", "30:00", "--to", "31:00"], "--from"),
    (["--to", "05:00"], "--to"),
])
def test_animate_bad_input_exits_2_and_writes_nothing(runs, capsys, arguments, where, tmp_path):
    _, folder = runs["desks"]
    out = tmp_path / "a.html"
    assert main(["animate", str(folder), "--out", str(out), *arguments]) == 2
    error = capsys.readouterr().err
    assert error.startswith(where) and "Traceback" not in error and not out.exists()


def test_animate_missing_folder_ffmpeg_and_os_failures(runs, capsys, tmp_path, monkeypatch):
    assert main(["animate", str(tmp_path / "nowhere")]) == 2
    assert "not found" in capsys.readouterr().err
    (tmp_path / "old").mkdir()
    assert main(["animate", str(tmp_path / "old")]) == 2
    assert "flow.json" in capsys.readouterr().err
    _, folder = runs["desks"]
    from simsampling.animation import raster

    monkeypatch.setattr(raster, "ffmpeg", lambda: None)
    assert main(["animate", str(folder), "--format", "mp4", "--out", str(tmp_path / "a.mp4")]) == 2
    assert "mp4 needs ffmpeg" in capsys.readouterr().err and not (tmp_path / "a.mp4").exists()
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["animate", str(folder), "--out", str(blocker / "a.html")]) == 1
    assert "cannot write" in capsys.readouterr().err
    def refused(source, target):  # as the OS says it: the temporary file's name first
        raise PermissionError(13, "Permission denied", str(source), None, str(target))

    monkeypatch.setattr(os, "replace", refused)
    assert main(["animate", str(folder), "--out", str(tmp_path / "b.html")]) == 1
    assert capsys.readouterr().err.startswith(f"{tmp_path / 'b.html'}: cannot write")  # the file asked for, not a temporary one
    monkeypatch.undo()
    for flags in ([], ["--force"]):  # a folder is no file name, --force or not
        assert main(["animate", str(folder), "--out", str(tmp_path), *flags]) == 2
        assert capsys.readouterr().err.startswith(f"{tmp_path}: is a folder")


@pytest.mark.parametrize("name, text, where", [
    ("flow.json", "[1, 2]", "flow.json"),
    ("flow.json", '{"points": []}', "flow.json"),
    ("flow.json", '{"points": [{"id": "desks-1"}]}', "flow.json"),
    ("summary.json", "null", "summary.json"),
    ("persons.csv", b"\x8b\x00\xff binary", "persons.csv:"),
    ("persons.csv", None, "persons.csv:"),  # a row cut short
    ("stations.csv", "point,station\ndesks-1,x\n", "stations.csv:"),
    ("stations.csv", "fifo", "stations.csv"),
])
def test_animate_a_folder_not_written_by_run_exits_2(runs, capsys, tmp_path, name, text, where):
    _, folder = runs["desks"]
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy, ignore=shutil.ignore_patterns("animation.*"))
    (copy / name).unlink()
    if text == "fifo":
        os.mkfifo(copy / name)
    elif text is None:
        lines = (folder / name).read_text(encoding="utf-8").splitlines(keepends=True)
        (copy / name).write_text("".join(lines[:3]) + lines[3][:20] + "\n" + "".join(lines[4:]), encoding="utf-8")
    else:
        (copy / name).write_bytes(text if isinstance(text, bytes) else text.encode())
    assert main(["animate", str(copy)]) == 2
    error = capsys.readouterr().err
    assert error.startswith(str(copy / where)) and "Traceback" not in error, error
    assert not list(copy.glob("*animation*"))


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg not installed")
def test_animate_mp4(runs, tmp_path):
    _, folder = runs["desks"]
    assert main(["animate", str(folder), "--format", "mp4", "--from", "08:40", "--to", "08:50", "--out",
                 str(tmp_path / "a.mp4")]) == 0
    assert (tmp_path / "a.mp4").read_bytes()[4:8] == b"ftyp"


def test_a_folder_written_with_parquet_tables_gives_the_same_scene(runs, tmp_path):
    """`run --format parquet` writes persons.parquet, which animate said was missing (it looked for persons.csv)."""
    result, folder = runs["behaviour"]
    simsampling.write_results(result, tmp_path / "parquet", table_format="parquet")
    assert not (tmp_path / "parquet" / "persons.csv").exists()
    from_csv, from_parquet = read_results(folder), read_results(tmp_path / "parquet")
    assert from_parquet.flow == from_csv.flow and from_parquet.spells == from_csv.spells
    assert from_parquet.persons.keys() == from_csv.persons.keys()
    for name, values in from_csv.persons.items():
        mine = from_parquet.persons[name]
        assert mine.dtype == values.dtype, name
        if values.dtype.kind == "f":  # the CSV's text holds a few digits; parquet the values themselves
            assert np.allclose(mine, values, atol=6e-4, equal_nan=True), name
        else:
            assert (mine == values).all(), name
    (tmp_path / "parquet" / "persons.parquet").write_bytes(b"not parquet")
    with pytest.raises(AnimationError, match="persons.parquet: is not as `simsampling run` writes it"):
        read_results(tmp_path / "parquet")


def test_district_default_point_has_the_longest_line(tmp_path):
    data = scenario("district", {"id": "calm", "population": 200, "tents": 4})
    data["points"].append({"id": "packed", "population": 900, "tents": 1})
    result = simsampling.run_scenario(validate_scenario(data))
    simsampling.write_results(result, tmp_path / "d")
    flow = json.loads((tmp_path / "d" / "flow.json").read_text(encoding="utf-8"))
    assert [p["id"] for p in flow["points"]] == ["calm", "packed"]
    assert read_results(tmp_path / "d").point_id == "packed"
    assert read_results(tmp_path / "d", "calm").point_id == "calm"


# ------------------------------------------------------------------ in headless Chromium

PROBE = """<script>
window.__errors = [];
window.addEventListener("error", (e) => window.__errors.push(String(e.message)));
window.addEventListener("load", () => {
  const player = window.simsamplingAnimation;
  const out = {errors: window.__errors, frames: player ? player.frames : -1, shown: {}};
  for (const index of FRAMES) out.shown[index] = player.seek(index);
  const pre = document.createElement("pre");
  pre.id = "probe";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>"""


def chromium(*args: str, profile: Path) -> str:
    command = [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
               f"--user-data-dir={profile}", "--window-size=1320,1000", "--virtual-time-budget=5000", *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@needs_chromium
def test_chromium_plays_what_the_data_says(runs, tmp_path):
    result, folder = runs["behaviour"]
    animation = build_animation(read_results(folder), 8 * 3600.0, 9 * 3600.0, 15.0)
    from simsampling.animation.page import page_html

    text = page_html(animation)
    busiest = max(range(len(animation.frames)), key=lambda i: animation.frames[i].waiting_total)
    frames = [0, busiest, len(animation.frames) - 1]
    probe = tmp_path / "probe.html"
    probe.write_text(text.replace("<head>", "<head>" + PROBE.replace("FRAMES", json.dumps(frames)), 1), encoding="utf-8")
    dumped = chromium("--dump-dom", probe.as_uri(), profile=tmp_path / "profile")
    found = json.loads(re.search(r'<pre id="probe">(.*?)</pre>', dumped, re.S).group(1).replace("&quot;", '"'))
    assert found["errors"] == [] and found["frames"] == len(animation.frames)
    places = animation.layout.places
    for index in frames:
        shown = found["shown"][str(index)]
        assert [[r, p] for r, p, _, _ in shown] == animation.drawn[index].reshape(-1, 2).tolist()
        assert all((x, y) == pytest.approx(places[p], abs=0.05) for _, p, x, y in shown)
    assert len(found["shown"][str(busiest)]) > 30


@needs_chromium
def test_chromium_screenshot_is_not_blank(runs, tmp_path):
    from PIL import Image

    _, folder = runs["behaviour"]
    page = tmp_path / "animation.html"
    page.write_text(animation_html(folder, start_s=8.5 * 3600, end_s=9 * 3600), encoding="utf-8")
    shot = tmp_path / "shot.png"
    chromium(f"--screenshot={shot}", page.as_uri(), profile=tmp_path / "profile")
    with Image.open(shot) as image:
        pixels = np.asarray(image.convert("RGB"), dtype=int)
    canvas = pixels[150:800, 40:1280]  # the picture, below the page's title
    assert len(np.unique(canvas.reshape(-1, 3), axis=0)) > 50
    assert np.count_nonzero(canvas.sum(axis=2) < 600) > 5000, "the picture was not drawn"
