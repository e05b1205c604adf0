"""The app's working folder: every file a visitor gives or gets stays inside it.

Each browser session gets a folder of its own (``sessions/<random token>``); each
scenario opened in it gets a draft folder holding the scenario file and the points
tables it names, copied or uploaded there. A scenario is loaded from its draft
folder only, and its ``points_file`` must name a regular file inside that folder:
an absolute path, ``..``, or a symbolic link that leads out is refused as bad input
with the loader's own ``file:line: field: what is wrong``. Uploaded files keep only
a plain version of their base name, so no name can climb out or hide. Results are
written under the session's ``runs/`` folder and handed back as a zip.
"""

from __future__ import annotations

import io
import re
import secrets
import shutil
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import Any, Iterable, Optional

from ..scenario import Problem, Scenario, ScenarioError, validate_scenario
from ..scenario.loading import MAX_FILE_BYTES, read_yaml

SCENARIO_SUFFIXES = (".yaml", ".yml")
TABLE_SUFFIXES = (".csv",)
MAX_UPLOAD_FILES = 10


def shipped_folder() -> Optional[Path]:
    """The project's ``scenarios/`` folder (beside the package in a source checkout), if there is one."""
    folder = Path(__file__).resolve().parents[2] / "scenarios"
    return folder if folder.is_dir() else None


def shipped_scenarios() -> dict[str, Path]:
    """Shipped scenario files by name, in name order."""
    folder = shipped_folder()
    if folder is None:
        return {}
    return {path.name: path for path in sorted(folder.iterdir()) if path.suffix in SCENARIO_SUFFIXES and path.is_file()}


def safe_name(name: str, default: str = "scenario.yaml") -> str:
    """A file name that is a plain base name: no folders, no leading dot, only letters, digits, ``_ . -``."""
    base = re.split(r"[\\/]", str(name))[-1]
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "_", base).lstrip(".")[:100]
    return cleaned or default


def inside(root: Path, path: Path) -> bool:
    """Whether ``path``, every symbolic link followed, lies within ``root``."""
    try:
        return path.resolve(strict=False).is_relative_to(root.resolve(strict=False))
    except (OSError, RuntimeError, ValueError):  # a loop of links, a NUL character
        return False


class Workspace:
    """The working folder of one app server, and the folders of its sessions."""

    def __init__(self, root: Path):
        root.mkdir(parents=True, exist_ok=True)
        self.root = root.resolve()

    def new_session(self) -> Path:
        folder = self.root / "sessions" / secrets.token_hex(8)
        folder.mkdir(parents=True)
        return folder


class Drafts:
    """The scenarios opened in one session, each in a draft folder of its own."""

    def __init__(self, session: Path):
        self.session = session
        self.count = 0

    def _folder(self) -> Path:
        self.count += 1
        folder = self.session / f"draft-{self.count}"
        folder.mkdir()
        return folder

    def from_text(self, name: str, text: str) -> Path:
        """A new draft holding ``text`` as ``name``: a blank point, or text typed in."""
        path = self._folder() / safe_name(name)
        path.write_text(text, encoding="utf-8")
        return path

    def from_shipped(self, source: Path) -> Path:
        """A copy of a shipped scenario and of the points table it names (if it is beside it)."""
        folder = self._folder()
        path = folder / safe_name(source.name)
        shutil.copyfile(source, path)
        table = _points_file_of(path)
        if table is not None and not Path(table).is_absolute() and (source.parent / table).is_file() \
                and inside(source.parent, source.parent / table) and safe_name(table) == table:
            shutil.copyfile(source.parent / table, folder / table)
        return path

    def from_upload(self, files: Iterable[tuple[str, bytes]]) -> Path:
        """A draft of uploaded files: one scenario (YAML) and the points tables (CSV) it names.

        Raises ScenarioError, naming the file, for anything else: no scenario, two scenarios,
        another kind of file, too many or too large files.
        """
        files = list(files)
        problems = []
        if len(files) > MAX_UPLOAD_FILES:
            problems.append(Problem("upload", None, "", f"{len(files)} files: give at most {MAX_UPLOAD_FILES}"))
        named = [(safe_name(name), data) for name, data in files]
        for name, data in named:
            if not name.endswith(SCENARIO_SUFFIXES + TABLE_SUFFIXES):
                problems.append(Problem(name, None, "", "is neither a scenario (.yaml, .yml) nor a points table (.csv)"))
            elif len(data) > MAX_FILE_BYTES:
                problems.append(Problem(name, None, "", f"is larger than {MAX_FILE_BYTES:,} bytes"))
        scenarios = [name for name, _ in named if name.endswith(SCENARIO_SUFFIXES)]
        if len(scenarios) != 1:
            problems.append(Problem("upload", None, "", f"give exactly one scenario file (.yaml), with its points tables "
                                                       f"(.csv) if it names any; got {len(scenarios)}"))
        if problems:
            raise ScenarioError(problems)
        folder = self._folder()
        for name, data in named:
            (folder / name).write_bytes(data)
        return folder / scenarios[0]


def _points_file_of(path: Path) -> Optional[str]:
    try:
        data, _ = read_yaml(path)
    except ScenarioError:
        return None
    table = data.get("points_file") if isinstance(data, dict) else None
    return table if isinstance(table, str) else None


def load_draft(path: Path, shown_as: Optional[str] = None) -> Scenario:
    """Load the scenario file of a draft folder, as ``load_scenario`` would, but confined to that folder.

    Problems name the file as ``shown_as`` (default: its base name), never the server's path.
    """
    shown = shown_as or path.name
    try:
        data, lines = read_yaml(path)
        if isinstance(data, dict) and "points_file" in data:
            _check_points_file(data["points_file"], path.parent, lines.get(("points_file",)), str(path))
        return validate_scenario(data, file=str(path), lines=lines, base_dir=path.parent)
    except ScenarioError as exc:
        raise ScenarioError([_shown(problem, path.parent, shown if problem.file == str(path) else None)
                             for problem in exc.problems]) from None


def _check_points_file(table: Any, folder: Path, line: Optional[int], file: str) -> None:
    if not isinstance(table, str) or not table:
        return  # the loader names the problem
    candidate = folder / table
    if Path(table).is_absolute() or not inside(folder, candidate):
        raise ScenarioError([Problem(file, line, "points_file", f"{table!r} is outside the app's working folder: "
                                                              "upload the table with the scenario and name it by its file name")])
    if candidate.is_symlink() or (candidate.exists() and not candidate.is_file()):
        raise ScenarioError([Problem(file, line, "points_file", f"{table!r} is not a regular file of the working folder")])


def _shown(problem: Problem, folder: Path, name: Optional[str]) -> Problem:
    """The problem with files named relative to the draft folder (the visitor's names, never the server's paths)."""
    prefix = str(folder) + "/"
    return replace(problem, file=name if name is not None else problem.file.removeprefix(prefix),
                   message=problem.message.replace(prefix, ""))


def zip_folder(folder: Path) -> bytes:
    """The regular files under ``folder`` as a zip (paths relative to the folder's parent); links are left out."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and not path.is_symlink() and inside(folder, path):
                archive.write(path, path.relative_to(folder.parent).as_posix())
    return buffer.getvalue()
