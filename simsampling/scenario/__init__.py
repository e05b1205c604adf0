"""Scenario files: the schema, loading with line-accurate errors, and saving."""

from .errors import Problem, ScenarioError
from .loading import load_scenario, validate_scenario
from .schema import Point, Scenario, clock_seconds

__all__ = ["Problem", "Point", "Scenario", "ScenarioError", "clock_seconds", "load_scenario", "validate_scenario"]
