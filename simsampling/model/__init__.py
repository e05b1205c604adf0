"""SimPy processes: the model of a point (later: districts, staff, the sample chain)."""

from .point import simulate_point

__all__ = ["simulate_point"]
