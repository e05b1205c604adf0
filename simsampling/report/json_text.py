"""Indented JSON text, the same bytes as ``json.dumps(value, indent=2, ensure_ascii=False, allow_nan=False)``.

With an indent the standard library falls back to its pure-Python encoder, which
passes every token up a chain of generators: 10 s for the 40 MB summary.json of a
city. Appending to one list, as here, is several times faster; strings are
escaped by the standard library's C function, numbers written by their ``repr``.
tests/unit/test_json_text.py holds the text to ``json.dumps``.
"""

from __future__ import annotations

import math
from json.encoder import encode_basestring
from typing import Any

INDENT = "  "


def _float(value: float) -> str:
    if not math.isfinite(value):
        raise ValueError(f"Out of range float values are not JSON compliant: {value!r}")
    return float.__repr__(value)


def _scalar(value: Any) -> str:
    """A value that is not a container, as json writes it (subclasses of int and float included)."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return encode_basestring(value)
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        return _float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _key(key: Any) -> str:
    """A mapping key: a string, or the text json gives a number, boolean or None, quoted."""
    if isinstance(key, str):
        return encode_basestring(key)
    if key is None or isinstance(key, (int, float)):
        return encode_basestring(_scalar(key))
    raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")


def _write(value: Any, indent: str, out: list[str], heads: dict[tuple[str, Any], str]) -> None:
    """Append the text of ``value``, whose first line is already indented by ``indent``.

    ``heads`` remembers the text before each value of a mapping (separator, indent and
    string key), which a summary repeats for every point.
    """
    if isinstance(value, dict):
        if not value:
            out.append("{}")
            return
        deeper = indent + INDENT
        first = True
        for key, item in value.items():
            head = heads.get((deeper, key, first)) if type(key) is str else None
            if head is None:
                head = ("{\n" if first else ",\n") + deeper + _key(key) + ": "
                if type(key) is str:
                    heads[deeper, key, first] = head
            out.append(head)
            first = False
            if type(item) is float:
                out.append(_float(item))
            elif isinstance(item, (dict, list, tuple)):
                _write(item, deeper, out, heads)
            else:
                out.append(_scalar(item))
        out.append("\n" + indent + "}")
    elif isinstance(value, (list, tuple)):
        if not value:
            out.append("[]")
            return
        deeper = indent + INDENT
        separator = "[\n" + deeper
        for item in value:
            out.append(separator)
            separator = ",\n" + deeper
            if isinstance(item, (dict, list, tuple)):
                _write(item, deeper, out, heads)
            else:
                out.append(_scalar(item))
        out.append("\n" + indent + "]")
    else:
        out.append(_scalar(value))


def json_text(value: Any) -> str:
    """``value`` as indented JSON: dicts, lists, tuples, strings, numbers, booleans and None; NaN is an error."""
    out: list[str] = []
    _write(value, "", out, {})
    return "".join(out)
