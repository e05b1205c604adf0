"""report/json_text.py writes the same bytes as json.dumps(indent=2, ensure_ascii=False, allow_nan=False),
through orjson where it can (floats outside its range of repr's text as fragments) and its own writer otherwise."""

from __future__ import annotations

import contextlib
import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import orjson

from simsampling.report import json_text as module
from simsampling.metrics import summarise
from simsampling.plain_json import REPR_BELOW, REPR_FROM, PlainTree
from simsampling.report.json_text import json_bytes, json_text


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
    assert json_bytes(tree) == stdlib(tree).encode("utf-8")


kpi_trees = st.recursive(
    st.none() | st.booleans() | st.integers(-10, 10) | st.floats()
    | st.sampled_from([0.0, -0.0, 1e-3, 9.9e-4, 1e-9, 1e15, 1e16, -5e-5]),
    lambda inner: st.dictionaries(st.text("ab", min_size=1, max_size=2), inner, min_size=1, max_size=3),
    max_leaves=12,
).filter(lambda tree: isinstance(tree, dict))


@settings(max_examples=300, deadline=None)
@given(st.lists(kpi_trees, max_size=3))
def test_summaries_passed_over_as_plain_trees_are_written_as_json_dumps_writes_them(trees):
    """One replication's summaries (PlainTree where every mean is plain, dicts elsewhere) inside a summary: json's text."""
    summary = {"kpis": summarise([{"x": 1.5}]), "points": [{"id": str(k), "kpis": summarise([tree])}
                                                             for k, tree in enumerate(trees)]}
    assert json_bytes(summary) == stdlib(summary).encode("utf-8")


def test_a_plain_tree_is_left_to_orjson():
    """What a PlainTree holds is not looked at: one that broke its promise (1e-9, which orjson writes otherwise than
    repr) would show it; beside it, the same float in a plain list is written as json writes it."""
    tree = {"a": PlainTree({"b": {"mean": 1e-9, "ci95": None, "n": 1}}), "c": [1e-9]}
    assert json_bytes(tree) == stdlib(tree).encode("utf-8").replace(b'"mean": 1e-09', b'"mean": 1e-9')


@settings(max_examples=2000, deadline=None)
@given(st.floats(min_value=REPR_FROM, max_value=REPR_BELOW, exclude_max=True), st.booleans())
def test_orjson_writes_floats_of_its_range_as_repr_does(number, negative):
    number = -number if negative else number
    assert orjson.dumps(number) == repr(number).encode()


@pytest.mark.parametrize("number", [1e-05, 5.49875829922466e-05, 9.999999999999999e-05, 1e-09, 1e16, 1.5e300, 5e-324,
                                    -2.5e-07, 0.0001, 0.000999, 9.99e14, 1e15, 123456789012345680.0])
def test_floats_written_otherwise_by_orjson_come_out_as_repr(number):
    tree = {"a": [number, {"b": (number, 1.5)}], "c": number}
    assert json_bytes(tree) == stdlib(tree).encode()
    assert json_text(number) == repr(number)


def test_a_plain_tree_goes_through_orjson_and_one_needing_repr_is_copied_not_changed(monkeypatch):
    calls = []
    monkeypatch.setattr(module, "_python_text", lambda value: calls.append(value) or stdlib(value))
    shared = {"x": 2e-9}
    tree = {"p": [{"mean": 0.5, "ci95": None, "n": 1, "id": "a", "ok": True}, shared, shared], "q": (3e-7, 1)}
    assert json_bytes(tree) == stdlib(tree).encode()
    assert calls == []  # orjson wrote it
    assert tree == {"p": [{"mean": 0.5, "ci95": None, "n": 1, "id": "a", "ok": True}, shared, shared], "q": (3e-7, 1)}
    assert shared == {"x": 2e-9} and type(tree["q"]) is tuple
    # What orjson would write otherwise than json goes to this module's writer (which gives json's text or error).
    for odd in ({1: "int key"}, [2**70], {"a": [1.0, math.nan]}, [{"b": object()}], ["é", MyStr("s")]):
        calls.clear()
        with contextlib.suppress(ValueError, TypeError):
            json_bytes(odd)
        assert calls == [odd]


class MyStr(str):
    pass


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


@pytest.mark.parametrize("bad", [math.nan, math.inf, {"a": [1.0, -math.inf]}, [{"a": 1e-9}, (math.nan,)]])
def test_nan_and_infinity_are_refused_as_by_json(bad):
    with pytest.raises(ValueError):
        json_text(bad)
    with pytest.raises(ValueError):
        json_bytes(bad)


def test_values_json_cannot_write_are_refused():
    with pytest.raises(TypeError):
        json_text({"a": object()})
    with pytest.raises(TypeError):
        json_text({(1, 2): "tuple key"})
