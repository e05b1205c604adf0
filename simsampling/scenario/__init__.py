"""Scenario files: the schema, loading with line-accurate errors, and saving.

The names below are loaded on first use (PEP 562): the stage kinds
(``simsampling/stages``) use the scenario's distributions and base types, and the
schema is built from the stage kinds, so importing ``scenario.distributions``
must not import the schema first.
"""

from importlib import import_module

_EXPORTS = {
    "Problem": "errors", "ScenarioError": "errors",
    "load_scenario": "loading", "validate_scenario": "loading",
    "Point": "schema", "Scenario": "schema", "clock_seconds": "schema",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
