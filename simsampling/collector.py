"""The cyclic garbage collector while a process piles up results it keeps.

A city run's main process keeps every point's KPIs, summaries and series (tens of objects a
point, hundreds of thousands for a round). Python's collector walks every tracked object at
each full collection, and unpickling a point's results sets off collections of its own: about
half of the main process's CPU while the workers simulated the Xi'an round (0.55 ms a point
against 0.29 ms with the collector off; benchmarks/README.md). What is kept is put in the
collector's permanent generation (``gc.freeze``) every ``every`` results, so collections walk
only what is new; cycles among new objects are still collected, and the collector is given
back as it was at the end. Building a large scenario is done with the collector paused (:func:`paused`).
"""

from __future__ import annotations

import gc
import threading
from contextlib import contextmanager
from typing import Any, Iterator, Optional

COMMAND_THRESHOLD = 20_000
"""Allocations between two collections of the youngest generation in a command's process (Python's default: 700)."""
TENURE_EVERY = 256
"""Results kept between two freezes: a few hundred points' objects walked at most. A freeze itself costs nothing
(the collector's lists are spliced), but cyclic garbage not yet collected when it comes stays until the end."""


class Tenure:
    """Counts kept results; every ``every`` of them, what the process holds goes to the permanent generation
    (and once at the start). ``release`` gives the frozen objects back to the oldest generation. A Tenure opened
    while another is open freezes as well and leaves the giving back to the outer one, whose block holds what
    it keeps (a command's whole run: ``kept_frozen``). It does nothing if something else had frozen objects
    already (theirs to give back)."""

    def __init__(self, every: int = TENURE_EVERY):
        self.every, self.kept = every, 0
        outer = _outermost()
        self.inner = outer is not None
        self.owner = outer.owner if outer is not None else gc.get_freeze_count() == 0
        if outer is None:
            _open.outermost = self
        self.froze = False
        self._freeze()

    def add(self) -> None:
        """One more result kept."""
        self.kept += 1
        if self.kept % self.every == 0:
            self._freeze()

    def release(self) -> None:
        if self.inner:
            return
        if _outermost() is self:
            _open.outermost = None
        if self.froze:
            gc.unfreeze()
            self.froze = False

    def _freeze(self) -> None:
        if self.owner:
            gc.freeze()
            self.froze = True


_open = threading.local()
"""``outermost``: the open Tenure of this thread that gives the permanent generation back. Per thread: runs in
the app's threads each keep their own, as before (the one that froze first gives back)."""


def _outermost() -> Optional[Tenure]:
    return getattr(_open, "outermost", None)


@contextmanager
def kept_frozen() -> Iterator[None]:
    """What the process holds now (a finished run's results) in the permanent generation for the block: its
    diagnosis and writing make objects by the million, whose collections would walk the run again and again
    (the Xi'an round's diagnosis: 1.98-2.02 s of CPU frozen against 2.00-2.36 s, benchmarks/README.md). Given back
    at the end, unless something else had frozen objects already, or the block is inside another (``Tenure``)."""
    tenure = Tenure()
    try:
        yield
    finally:
        tenure.release()


@contextmanager
def paused() -> Iterator[None]:
    """The collector off for the block, then as it was: for building a large structure that is kept whole, whose
    collections would walk it again and again as it grows and find nothing to free (loading the Xi'an round's
    scenario: 0.41-0.42 s against 0.61-0.63 s, benchmarks/README.md). Cycles left by the block are collected after it.
    Inside a Tenure's block (a command's run, ``kept_frozen``) what the block built is kept as the results are:
    frozen before the collector is back, so that collections do not walk it as young objects, then again as older
    ones (the Xi'an round's scenario: 0.2-0.3 s of CPU before its workers start, while the other core is idle)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        outer = _outermost()
        if outer is not None and outer.owner:
            gc.freeze()
        if enabled:
            gc.enable()


def for_a_command() -> None:
    """The collector of a command's process, which makes objects by the million and keeps most of them (a city's
    scenario, results, diagnosis, tables): its youngest generation collected every ``COMMAND_THRESHOLD``
    allocations, not every 700, so that far fewer collections find little to free; the older generations as
    before, and cycles are collected all the same, a few thousand objects later (benchmarks/README.md).
    Processes forked from it (workers, writers) inherit it."""
    gc.set_threshold(COMMAND_THRESHOLD, *gc.get_threshold()[1:])


_left: Optional[list] = None
"""What ``left_at_exit`` keeps, inside ``left_to_the_system``'s block; None elsewhere."""


@contextmanager
def left_to_the_system() -> Iterator[None]:
    """A command's process, which ends after the block: what the block's ``left_at_exit`` keeps, and every object
    the process holds then, are left to the operating system at its end, neither freed nor walked by the
    interpreter's last collections (frozen: 0.67 s against 0.12 s after a demo's run on a loaded machine,
    benchmarks/README.md). What is kept is put in a cycle of its own that no module reaches, so that the
    interpreter's end does not free it one object at a time either."""
    global _left
    _left = []
    try:
        yield
    finally:
        kept, _left = _left, None
        kept.append(kept)  # its own reference: the count never falls to zero
        gc.freeze()


def left_at_exit(*objects: Any) -> None:
    """Keep ``objects`` (a finished run and its advice) until the process ends, inside ``left_to_the_system``'s block:
    freeing the Xi'an round's result and advice takes 0.11 s of CPU, on the one core still busy once every file is
    written. Elsewhere (tests, the app: processes that go on) nothing is kept and they are freed as usual."""
    if _left is not None:
        _left.extend(objects)
