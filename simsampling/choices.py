"""Choices the command line offers for a run, and its exit statuses, in a module that imports nothing.

The parser of every command is built before any command runs, so what it offers is
named here rather than beside the code that uses it (which imports numpy): ``simsampling
validate`` then loads the scenario layer only (docs/architecture.md, imports paid by use).
"""

ENGINES = ("auto", "simpy", "fast")
DEFAULT_ENGINE = "auto"
"""The fast engine gives SimPy's log to the last bit, for points in its scope."""
EXECUTORS = ("serial", "processes", "dask")
DEFAULT_EXECUTOR = "processes"
KEEP_LOGS_UP_TO = 1_000_000
"""Residents of the first replication kept in memory for ``RunResult.persons()``."""
FORMATS = ("csv", "parquet")
"""``--format``: how persons and time series are written (the other tables are always CSV)."""
AUTO_FIRST = 5
"""``--replications auto``: the first batch of replications."""
AUTO_MAX = 200
"""``--replications auto``: stop here if the target is not met."""
AUTO_KPIS = ("finish_h", "wait_min.total.p90")
"""``--replications auto``: the KPIs whose confidence intervals must be narrow enough."""
AUTO_PRECISION = 0.05
"""``--replications auto``: the wanted 95% CI half-width, relative to the mean."""
RANK_BY = {"finish": "finish_h", "wait": "wait_min.total.p90", "line": "queue_max.total"}
"""``advise --rank-by``: the KPI the levers are ranked by."""
DEFAULT_MAX_P90_WAIT_MIN = 15.0
"""``run --max-p90-wait`` and ``advise --max-p90-wait``: the p90 wait a point must stay within, minutes."""
LAWS = ("lognormal", "gamma", "weibull")
"""The laws ``simsampling fit`` fits to a stage's times."""
LAW_CHOICES = ("auto",) + LAWS + ("empirical",)
"""``fit --law``: the lowest AIC (auto), one law, or the records' own times."""

# The command line's exit statuses (README and docs/outputs.md), one meaning each for every command.
OS_FAILURE = 1
"""A path could not be read or written, a disk was full, a scheduler could not be reached."""
BAD_INPUT = 2
"""A scenario, a records file or an option was refused, naming the file, line and field."""
INFEASIBLE = 3
"""A target cannot be met (optimise, advise)."""
INTERRUPTED = 130
"""Stopped by Ctrl-C, SIGTERM or SIGHUP (``stopping.py``); nothing half-written is left."""
