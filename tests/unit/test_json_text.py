"""report/json_text.py writes the same bytes as json.dumps(indent=2, ensure_ascii=False, allow_nan=False)."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simsampling.report.json_text import json_text


def stdlib(value) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, allow_nan=False)


scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()
trees = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(trees)
def test_any_json_tree_is_written_as_json_dumps_writes_it(tree):
    assert json_text(tree) == stdlib(tree)


def test_a_summary_like_tree_with_odd_keys_and_numbers():
    leaf = {"mean": 0.41, "ci95": [0.22, 0.6], "n": 5}
    tree = {
        "kpis": {"wait_min": {"swab": {"p90": leaf, "max": {"mean": None, "ci95": None, "n": 0}}}, "tubes": {}},
        "points": [{"id": "é\"\n\u2028", "kpis": {"x": leaf}}, []],
        "numbers": [1e-05, 1e16, -0.0, 2**70, True, False, None, (1, 2)],
        1: "int key", 2.5: "float key", None: "none key", True: "bool key",
    }
    assert json_text(tree) == stdlib(tree)
    # The same str key at another depth or place gets its own indentation.
    assert json_text([{"a": {"a": 1}}, {"b": 2, "a": 3}]) == stdlib([{"a": {"a": 1}}, {"b": 2, "a": 3}])


@pytest.mark.parametrize("bad", [math.nan, math.inf, {"a": [1.0, -math.inf]}])
def test_nan_and_infinity_are_refused_as_by_json(bad):
    with pytest.raises(ValueError):
        json_text(bad)


def test_values_json_cannot_write_are_refused():
    with pytest.raises(TypeError):
        json_text({"a": object()})
    with pytest.raises(TypeError):
        json_text({(1, 2): "tuple key"})
