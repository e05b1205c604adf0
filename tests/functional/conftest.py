"""Every functional run checks Little's law on every point, stage and replication.

Runs reach the model through ``run_scenario`` (imported under several names, and
by the CLI), which takes each finished task from ``replicate._execute`` in the
main process, whatever ``--jobs``. Wrapping ``_execute`` therefore sees every
task of every in-process run; the subprocess runs of these tests stop at bad
input before simulating anything.
"""

from __future__ import annotations

import pytest

from simsampling.checks import LITTLE_TOLERANCE
from simsampling.experiment import replicate


@pytest.fixture(autouse=True)
def littles_law_on_every_run(monkeypatch):
    execute = replicate._execute

    def checked(*args, **kwargs):
        for run in execute(*args, **kwargs):
            stages = sorted(check.stage for check in run.littles_law)
            assert stages == sorted(run.series.queue), f"{run.point_id}: Little's law not checked on every stage"
            for check in run.littles_law:
                assert check.relative_gap <= LITTLE_TOLERANCE, f"Little's law fails: {check}"
            yield run

    monkeypatch.setattr(replicate, "_execute", checked)
