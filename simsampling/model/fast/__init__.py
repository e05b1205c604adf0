"""A fast exact engine for one sampling point, beside the SimPy model of ``model/point.py``.

``simulate_point_fast`` takes the same :class:`ResidentDraws` as
``simulate_point`` and returns the same :class:`EventLog`, with the same
timestamps to the last bit, about a hundred times faster
(benchmarks/engine_speed.py). The SimPy model stays the reference;
``fast_scope`` says which points this engine can run (and, when it cannot,
why), so that a caller can fall back to SimPy.

Scope
-----
Everything ``model/point.py`` simulates except pooled tubes: any flow (stages
served by a FIFO pool of servers, registrars paired with the stations or
desks, the swab stations), side routes to side stages, ``queue: shared`` or
``per_tent`` (join-the-shortest-line), lanes of stations (the green channel's
dedicated stations, reserved stations); any arrival plan; several days, the
set-up delay, early arrivals waiting for the opening, late ones turned away;
staff plans that close stations and servers (rota off-duty spells, samplers
fewer than stations, breaks not covered by relief), with the same closure log;
balking on the line seen at arrival, with one return; reneging; priorities;
disinfection; door-to-door teams. Out of scope: pooled tubes (``pooling``, or
a ``chain``, which pools every point); ``fast_scope`` says so.

Layout of the package
---------------------
``engine.py`` (from Python: records in, EventLog out), ``records.py`` (the
kernel's inputs and outputs as named records), ``kernel.py`` (the event loop),
one module per way a stage serves (``pool.py``; ``stations.py``: stations and
paired registrars), ``walk.py`` (after a stage, leaving), ``lines.py`` (waiting
lines and resources), ``events.py`` (future events), ``home.py``
(door-to-door teams), ``scope.py``, ``compiled.py`` (numba).

Why an event replay, not formulas
---------------------------------
Each stage alone is a recursion (start = max(ready, earliest free server)), but
a paired registrar is held until its station's sampler is free,
join-the-shortest-line depends on who is in which line at the instant of
choosing, a closing station waits for its resident, and SimPy orders
simultaneous events by the order in which it scheduled them. Simultaneous
events are common here: every early arrival is let in at the opening at once,
a household arrives together, ``fixed`` and ``empirical`` service times end
together, zero service times chain within one instant, rotas and breaks fall
on round times. To agree with SimPy on every tie, the engine orders events
exactly as SimPy does: it is a small discrete-event kernel specialised to this
model, compiled with numba, in which each resident and each staff closure is a
state machine that runs, like its SimPy process in ``model/point.py``, from
one ``yield`` to the next.

SimPy's rules reproduced (SimPy 4.1: ``simpy.core``, ``simpy.events``, ``simpy.resources``)
---------------------------------------------------------------------------------------
1. Events are processed by (time, priority, scheduling order). Starting a
   process is URGENT (before every NORMAL event at the same time); everything
   else is NORMAL.
2. A process resumes when the event it waits for is *processed*: a request
   granted at once is still a zero-delay event, behind the events already
   scheduled for that instant.
3. ``Resource.request`` joins the queue, then grants the *head* of the queue if
   a slot is free (``_trigger_put`` stops after the first request: ``_do_put``
   returns None). ``release`` frees the slot at once, but a waiting request is
   granted only when the Release event is processed, one per release.
4. With staff closures or a green channel every resource is a
   ``PriorityResource``: its queue is kept sorted by (priority, time of
   request) with a stable sort, so a closure's blocker (priority -1) goes
   before every resident, priority residents (0) before the others (1), and
   requests of one priority keep their order. Three FIFO lines per resource.
5. ``Store`` (a shared line's ``StationPool``): ``put`` appends the station at
   once, and the head of the waiting residents gets it when the Put event is
   processed; ``get`` hands the head the station free the longest, at once, if
   there is one. ``close`` removes a free station (the closure resumes one
   event later) or marks it, and the station is then parked when it comes
   back: the parking is scheduled before the Put event, which still runs.
6. A timeout lands at ``now + delay``, one floating-point addition as SimPy
   computes it; the arrival source waits ``delay_until(now, arrival)``, and so
   does a closure waiting for the end of an off-duty spell.
7. The closures' start timeouts are scheduled first, then one opening timeout
   per day, before anything else; the residents waiting for an opening resume
   in the order they began to wait, each running until its next ``yield``
   before the next one resumes.
8. A closure of a per-station line at the end of a shift waits for its line to
   drain: the ``drained`` event is scheduled when the last resident leaves the
   line, before that resident's release (one waiting closure per station: a
   later one replaces it, as the dict entry does).
9. Reneging: a resident waits on ``event | give_up`` (not in a side stage, where
   it waits on its request alone). The condition is
   scheduled when the first of the two is *processed* (or at once if the
   patience timeout already was), and the resident resumes one event later;
   then it is served if its request was *triggered* (granted, even if not yet
   processed), else it cancels the request and leaves.
10. Balking reads the ``waiting`` counter (residents at the point not yet at a
   swab station) when the resident's process starts, and again after its
   return timeout.

SimPy also schedules events with no effect here (a process's end, a Request's
callback on the empty queue of releases, a patience timeout nobody waits on
any more); those that change nothing are left out, which does not change the
relative order of the others.

Door-to-door teams share nothing with the residents but the opening events,
which they only wait on, so ``home.py`` replays them alone.

Ties
----
With these rules every simultaneous event is processed in SimPy's order, so no
tie case is left out of the scope: residents let in together at an opening, a
resident arriving at the instant another leaves a server, services ending
together, zero-length services chaining within one instant, households
arriving together, join-the-shortest-line choices made at the instant a line
shortens, a closure due at an opening or at the instant its station is freed,
a break ending as a resident arrives, balkers coming back and patience running
out at such instants. tests/validation/test_fast_engine.py compares both
engines bit for bit on random scenarios built to tie. The rules are SimPy
4.1's; a SimPy release that changed them would show there.

Data structures
---------------
* Future events (timeouts): a calendar in front of a radix heap. Timeouts
  due within 512 s of the last event taken out (services, most of them) go
  into the calendar's half-second slots, each a list sorted by time, of equal
  times first scheduled first; the others (closures, openings, patience,
  returns) into a radix heap: every timeout is scheduled no earlier than the
  last event taken out (time never goes back), so events go into buckets by
  the highest bit in which the float's order-preserving 64-bit key differs
  from the last key taken; buckets are FIFO lists. The first event is the
  earlier of the two heads by (time, scheduling number), SimPy's order. (With
  the radix heap alone, spreading its buckets took a quarter of the replay;
  the calendar made the tandem of benchmarks/speed_record.py about a fifth
  faster.) The source's next arrival is kept apart (with its scheduling number
  for ties).
* Events at the current instant: all of them were scheduled after every future
  event of that instant, so they need no heap: a FIFO of process starts
  (URGENT) and a ring of the rest (grants, releases, puts, zero-length
  timeouts). Order of processing: URGENT, future events at ``now``, the ring,
  then the next instant. Should the ring ever come close to full, the run
  stops and starts again with a larger one.
* Resources: a capacity, a count of users and per priority class a FIFO of
  waiting residents as a linked list (a resident waits in one line at a time);
  residents who reneged are dropped when they reach the head.
* A shared line's pool: a ring of free station numbers (free longest first).
* Join-the-shortest-line: per station the residents assigned to it and not yet
  swabbed, and whether it is closed; the first minimum of (closed, line) wins,
  as ``min`` does in ``model/point.py``.
* The kernel allocates nothing and is compiled without numba's runtime
  (``_nrt=False``): with it, the reference counting around the helper calls
  took more time than the replay itself.

If numba is not installed (or ``NUMBA_DISABLE_JIT`` is set) the same
functions run as plain Python: still exact, but slower than SimPy; ``JIT``
tells which.
"""

from .compiled import JIT
from .engine import simulate_point_fast
from .home import home_replay
from .kernel import replay
from .scope import fast_scope, out_of_scope


def dispatchers(home: bool = False) -> list:
    """numba's dispatchers of the kernels a run uses (the door-to-door teams' with ``home``), to ask whether they are cached."""
    return [replay, home_replay] if home else [replay]


__all__ = ["JIT", "dispatchers", "fast_scope", "out_of_scope", "simulate_point_fast"]
