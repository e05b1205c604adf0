"""A journal of finished runs, so that a long job interrupted (Ctrl-C, a killed worker) resumes.

One JSON line per finished run, flushed and fsynced before the next starts; the
first line describes the job, and a journal of another job is refused rather than
mixed in. Sweeps record their combinations, optimisations their evaluations.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..scenario import Problem, ScenarioError

JOURNAL = "runs.jsonl"


class DesignMismatch(ScenarioError):
    """The partial folder holds the journal of another design."""



class Journal:
    """``runs.jsonl``: a header line (the design), then one line per finished combination."""

    def __init__(self, folder: Path, header: dict[str, Any]):
        self.path = Path(folder) / JOURNAL
        self.header = header

    def load(self) -> dict[str, dict[str, Any]]:
        """Finished combinations by key; a last line cut short by a crash is dropped from the file."""
        if not self.path.exists():
            return {}
        raw = self.path.read_bytes()
        good = raw.rfind(b"\n") + 1
        if good < len(raw):  # the process died in the middle of a line: that combination did not finish
            with self.path.open("r+b") as handle:
                handle.truncate(good)
                handle.flush()
                os.fsync(handle.fileno())
        lines = raw[:good].decode("utf-8").splitlines()
        if not lines:
            return {}
        try:
            header = json.loads(lines[0])
            records = [json.loads(line) for line in lines[1:] if line.strip()]
        except json.JSONDecodeError:
            raise ScenarioError([Problem(str(self.path), None, "", "is not a sweep journal (not JSON lines); "
                                         "remove the folder or add --fresh")]) from None
        if header.get("design_hash") != self.header["design_hash"]:
            raise DesignMismatch([Problem(str(self.path.parent), None, "",
                                          "holds an unfinished sweep of another design (scenario, factors, seed, "
                                          "replications or version differ); rerun that sweep to finish it, or add "
                                          "--fresh to discard it")])
        done: dict[str, dict[str, Any]] = {}
        for record in records:
            done.setdefault(record["key"], record)
        return done

    def start(self) -> None:
        if not self.path.exists() or self.path.stat().st_size == 0:
            self._append(self.header)

    def add(self, record: dict[str, Any]) -> None:
        self._append(record)

    def _append(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, ensure_ascii=False, allow_nan=False) + "\n"
        try:
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(line)
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as exc:  # a full disk: name the journal (a failed write names no file); a cut line is dropped on load
            raise OSError(exc.errno, exc.strerror or str(exc), str(self.path)) from exc
