"""The fast engine's future-event queue (a calendar in front of a radix heap) against heapq.

Events must come out by (time, scheduling number), as SimPy's heap has them: of
two timeouts at the same instant, the one scheduled first. The operations are
drawn to hit the queue's edges: ties, the calendar's half-second slots and its
512 s horizon (events just inside and just outside it), its wrap-around, far
events (overnight) and times before midnight.
"""

from __future__ import annotations

import heapq

from hypothesis import given, settings
from hypothesis import strategies as st

from simsampling.model.fast.events import EVENT, SLOTS, SLOTS_PER_S, future_events, future_first, future_pop, future_push

HORIZON_S = SLOTS / SLOTS_PER_S

delays = st.one_of(
    st.sampled_from([0.0, 0.25, 0.5, 1.0, HORIZON_S - 0.5, HORIZON_S - 1e-9, HORIZON_S, HORIZON_S + 0.5, 2 * HORIZON_S, 40_000.0]),
    st.floats(0.0, 2 * HORIZON_S, allow_nan=False),
)
operations = st.lists(st.one_of(st.tuples(st.just("push"), delays), st.just(("pop", 0.0))), max_size=300)


def replay(start: float, ops: list[tuple[str, float]]) -> None:
    """Run ``ops`` on the queue and on heapq from ``start``; every event must come out in heapq's order.

    The queue starts with one event taken out at ``start``, as the kernel's does at once
    (before that, everything goes to the radix heap).
    """
    ops = [("push", 0.0), ("pop", 0.0)] + ops
    fi, ft, fb, fs, fbuf = future_events(len(ops) + 1)
    reference: list[tuple[float, int, int]] = []
    now = start
    scheduled = 0
    for op, delay in ops + [("pop", 0.0)] * len(ops):
        if op == "push":
            future_push(now + delay, scheduled, fi, ft, fb, fs, fbuf)
            heapq.heappush(reference, (now + delay, scheduled, scheduled))
            scheduled += 1
            continue
        first = future_first(fi, ft, fb, fs)
        if not reference:
            assert first == -1
            continue
        time, _, event = heapq.heappop(reference)
        assert first >= 0
        assert (ft[first], fi[first * 4 + EVENT]) == (time, event)
        future_pop(first, fi, ft, fb, fs)
        now = time
    assert future_first(fi, ft, fb, fs) == -1


@settings(max_examples=400, deadline=None)
@given(start=st.sampled_from([0.0, -3600.0, 25_200.0, 25_200.25]), ops=operations)
def test_events_come_out_by_time_then_scheduling_order(start, ops):
    replay(start, ops)


def test_an_event_tied_with_the_first_of_its_slot_goes_after_it():
    replay(0.0, [("push", 0.25), ("push", 0.0), ("push", 0.0), ("push", 0.1), ("push", 0.25)])
