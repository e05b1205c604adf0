"""Values computed once per object: a validated scenario, a point's stages.

Validated scenarios are frozen (pydantic), so what is derived from one stays true while
it lives; a changed scenario (``model_copy``) is another object. A city's diagnosis asks
for the levers of its scenario at each of its 4,485 points, and for a point's flow at
every stage: computed each time, that was 40 million flows (the diagnosis of a round grew
with the square of its points).
"""

from __future__ import annotations

import functools
import weakref
from typing import Any, Callable, TypeVar

Value = TypeVar("Value")


def per_object(function: Callable[[Any], Value]) -> Callable[[Any], Value]:
    """``function(obj)`` computed once for each object while it lives (keyed by identity, dropped when
    the object is collected): for functions of frozen objects only."""
    values: dict[int, Value] = {}

    @functools.wraps(function)
    def once(obj: Any) -> Value:
        key = id(obj)
        try:
            return values[key]
        except KeyError:
            value = values[key] = function(obj)
            weakref.finalize(obj, values.pop, key, None)
            return value

    return once
