"""memo.per_object: once per object while it lives, another object another value."""

from __future__ import annotations

import gc

from simsampling.memo import per_object


class Frozen:
    def __init__(self, value: int):
        self.value = value


def test_a_value_is_computed_once_per_object_and_dropped_with_it():
    calls = []

    @per_object
    def double(obj: Frozen) -> int:
        calls.append(obj.value)
        return 2 * obj.value

    first, second = Frozen(1), Frozen(2)
    assert [double(first), double(first), double(second), double(first)] == [2, 2, 4, 2]
    assert calls == [1, 2]
    del first
    gc.collect()
    third = Frozen(3)  # may take the id of the collected object: computed anew, not the stale 2
    assert double(third) == 6 and calls == [1, 2, 3]
