"""Trees known, when they are made, to be written by orjson as the standard library's ``json`` writes them.

report/json_text.py walks a tree before orjson writes it, to find what orjson would write otherwise than
``json``: floats far from 1 (another text than ``repr``), NaN and infinities (``null`` where ``json`` refuses),
foreign types. A city's summary.json holds one KPI tree a point (the Xi'an round: 395,000 estimates, 0.14 s of
the walk's 0.18 s); ``metrics.summarise`` checks each value as it makes such a tree anyway, so it says so with
the tree's type (``PlainTree``) and the walk passes over it. Here, not in either, so that neither imports the other.
"""

from __future__ import annotations

REPR_FROM, REPR_BELOW = 1e-3, 1e15
"""Magnitudes of the floats orjson writes as ``repr`` does (tests/unit/test_json_text.py); any other non-zero
finite float is written otherwise. (``repr`` writes an exponent below 1e-4 and from 1e16 on: the margins cost
nothing, a float of a summary is seldom outside them.)"""


class PlainTree(dict):
    """A dict whose keys are strings and whose values, all the way down, are dicts, lists, strings, ints, booleans,
    None and finite floats of magnitude 0 or from ``REPR_FROM`` to below ``REPR_BELOW``: what orjson writes as
    ``json`` does. Made so by the code that built and checked it; not to be changed after (a summary is not)."""

    __slots__ = ()

