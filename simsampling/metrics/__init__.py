"""KPIs, time series and confidence intervals, all computed from event logs.

Nothing here is tracked while the model runs: queue lengths and busy servers
are integrals over the residents' intervals, evaluated with sorted arrays and
cumulative sums (exact time averages, no sampling error).

A point's log is reduced to a :class:`Tally`, small and additive: tallies of
many points combine into the tally of a district without keeping any resident
in memory. Percentiles of one point are exact; over several points they are
read from 1-second bins (the first four hours; 1-minute bins beyond).

Cost per point matters (a city round has thousands): times in a log come
nearly in order (arrivals, starts, ends), so they are sorted with a stable sort
(timsort: several times faster than quicksort on them, the same values), each
once per log (``EventLog.derived``); durations are counted in their bins and
their percentiles selected, not sorted; and compiled loops replace chains of
numpy calls, doing numpy's arithmetic operation by operation, so every figure
is the same to the last bit.
"""

from .compiled import (
    busiest_spell,
    busiest_spells,
    compile_examples,
    compiled_loop,
    dispatchers,
    duration_summaries,
    duration_summary,
    interpret_cold_loops,
    merged_peaks,
    peak,
    sorted_occupancy,
)
from .fluid import fluid_departures, pushed_times, rows_interp, rows_interp_numpy, served_curves
from .durations import (
    DAY,
    DURATION_EDGES,
    Durations,
    HOUR,
    MINUTE,
    PERCENTS,
    PooledBins,
    SECOND_BINS_S,
    TIME_STATS,
    WAIT_BINS,
    WAIT_BIN_MIN,
    in_order,
    mean_of,
    time_stats,
)
from .lines import (
    area_max,
    line_peaks,
    over_capacity,
    queue_max,
    sorted_line,
    total_queue_max,
    waiting_before_opening_s,
    waiting_intervals,
)
from .staff_time import (
    home_team_days,
    overtime_by_day_s,
    staff_seconds,
    staffed_days,
    staffed_span_s,
    staffed_spans,
)
from .tally import (
    COUNT_KEYS,
    HourCounts,
    STAFF_ROLES,
    Tally,
    combine,
    kpis_of,
    replication_kpis,
    tally,
)
from .series import (
    Band,
    Series,
    SeriesSum,
    SeriesBands,
    add_series,
    band,
    occupancy,
    pad,
    point_series,
    series_edges,
    wait_histograms,
)
from .estimates import (
    estimate,
    flatten,
    summarise,
)
from .stations import (
    CLOSURE_FIELDS,
    MAX_TIMELINE_ROWS,
    StaffedStations,
    StationTimeline,
    staffed_stations,
    station_intervals,
    station_spells,
    station_timeline,
)
from .busy_period import (
    BUSY_GAP_S,
    BUSY_LINE,
    BusyPeriod,
    busy_period,
    busy_periods,
    busy_period_kpis,
)

__all__ = [
    "BUSY_GAP_S",
    "BUSY_LINE",
    "Band",
    "BusyPeriod",
    "CLOSURE_FIELDS",
    "COUNT_KEYS",
    "DAY",
    "DURATION_EDGES",
    "Durations",
    "HOUR",
    "HourCounts",
    "MAX_TIMELINE_ROWS",
    "MINUTE",
    "PERCENTS",
    "PooledBins",
    "SECOND_BINS_S",
    "STAFF_ROLES",
    "Series",
    "SeriesSum",
    "SeriesBands",
    "StaffedStations",
    "StationTimeline",
    "TIME_STATS",
    "Tally",
    "WAIT_BINS",
    "WAIT_BIN_MIN",
    "add_series",
    "area_max",
    "band",
    "busy_period",
    "busy_periods",
    "busy_period_kpis",
    "busiest_spell",
    "busiest_spells",
    "combine",
    "compile_examples",
    "compiled_loop",
    "dispatchers",
    "duration_summaries",
    "duration_summary",
    "estimate",
    "flatten",
    "fluid_departures",
    "pushed_times",
    "home_team_days",
    "in_order",
    "mean_of",
    "kpis_of",
    "line_peaks",
    "merged_peaks",
    "occupancy",
    "over_capacity",
    "overtime_by_day_s",
    "pad",
    "peak",
    "point_series",
    "queue_max",
    "replication_kpis",
    "rows_interp",
    "rows_interp_numpy",
    "served_curves",
    "series_edges",
    "sorted_line",
    "sorted_occupancy",
    "staff_seconds",
    "staffed_days",
    "staffed_span_s",
    "staffed_spans",
    "staffed_stations",
    "station_intervals",
    "station_spells",
    "station_timeline",
    "summarise",
    "tally",
    "time_stats",
    "total_queue_max",
    "wait_histograms",
    "waiting_before_opening_s",
    "waiting_intervals",
]
