"""Indented JSON text, the same bytes as ``json.dumps(value, indent=2, ensure_ascii=False, allow_nan=False)``.

With an indent the standard library falls back to its pure-Python encoder, which
passes every token up a chain of generators: 10 s for the 40 MB summary.json of a
city. orjson (compiled) writes the same indented text in a tenth of a second for the
64 MB of the Xi'an round, except three things, which :func:`json_bytes` settles first,
in one walk over the tree: orjson writes floats below 1e-4 or from 1e16 on in another
form than Python's ``repr`` (``1e-9``, ``0.00005`` for ``1e-09``, ``5e-05``), so those
go in as orjson ``Fragment`` s of their ``repr``; it writes NaN and infinities as
``null`` where json refuses them; and it writes some objects json refuses (dataclasses,
enums...). A tree with anything but dicts, lists, tuples, strings, ints, floats,
booleans and None, a non-finite float, a non-string key or an integer beyond 64 bits is
written by this module's own writer instead (:func:`json_text`'s of before: appending
to one list, strings escaped by the standard library's C function, numbers by their
``repr``), which gives json's text or error. tests/unit/test_json_text.py holds both
to ``json.dumps``.
"""

from __future__ import annotations

import math
from json.encoder import encode_basestring
from typing import Any, Optional, Union

import orjson

from ..plain_json import REPR_BELOW, REPR_FROM, PlainTree

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


def _python_text(value: Any) -> str:
    out: list[str] = []
    _write(value, "", out, {})
    return "".join(out)


NoneType = type(None)


class _NotPlain(Exception):
    """The tree holds what orjson would write otherwise than json: this module's writer writes it."""


def _repr_fragment(value: float) -> "orjson.Fragment":
    if not math.isfinite(value):
        raise _NotPlain
    return orjson.Fragment(float.__repr__(value).encode("ascii"))


def _settled(value: Union[dict, list, tuple]) -> Union[dict, list, tuple]:
    """``value``, or a copy of it in which the floats orjson writes otherwise than ``repr`` are fragments of their
    ``repr`` (copies of the containers on the way only); ``_NotPlain`` when the tree holds what orjson would
    write otherwise than json. The common case, nothing to change, is checked inline (types compared one by one:
    three times faster than a set's lookup, 0.14 s for the Xi'an round's summary); a ``PlainTree`` is passed over
    (checked when it was made: ``plain_json``); from the first change on, ``_settled_item`` does the rest on a copy."""
    for item in value.values() if type(value) is dict else value:
        kind = type(item)
        if kind is float:
            if REPR_FROM <= abs(item) < REPR_BELOW or item == 0.0:
                continue
            new = _repr_fragment(item)
        elif kind is dict or kind is list or kind is tuple:
            new = _settled(item)
            if new is item:
                continue
        elif kind is str or kind is int or kind is NoneType or kind is bool or kind is PlainTree:
            continue
        else:
            raise _NotPlain
        # The first change: a copy, the items before it as they are (the first one that is ``item`` is this one:
        # an earlier one, the same object, would have been changed first), the rest settled one by one.
        copy: Any = dict(value) if type(value) is dict else list(value)
        keys = list(copy) if type(copy) is dict else range(len(copy))
        first = next(index for index, key in enumerate(keys) if copy[key] is item)
        copy[keys[first]] = new
        for key in keys[first + 1:]:
            copy[key] = _settled_item(copy[key])
        return copy
    return value


def _settled_item(item: Any) -> Any:
    """One item as ``_settled`` leaves it: a float as itself or a fragment of its ``repr``, a container settled."""
    kind = type(item)
    if kind is float:
        return item if REPR_FROM <= abs(item) < REPR_BELOW or item == 0.0 else _repr_fragment(item)
    if kind is dict or kind is list or kind is tuple:
        return _settled(item)
    if kind is str or kind is int or kind is NoneType or kind is bool or kind is PlainTree:
        return item
    raise _NotPlain


def _orjson_text(value: Any) -> Optional[bytes]:
    """The UTF-8 of ``json_text(value)`` by orjson, or None where orjson would not write json's text or error."""
    try:
        return orjson.dumps(_settled_item(value), option=orjson.OPT_INDENT_2)
    except (_NotPlain, orjson.JSONEncodeError):
        return None


def json_bytes(value: Any) -> bytes:
    """``json_text(value)`` encoded as UTF-8 (what a file holds), without decoding orjson's bytes to encode them again."""
    text = _orjson_text(value)
    return text if text is not None else _python_text(value).encode("utf-8")


def json_text(value: Any) -> str:
    """``value`` as indented JSON: dicts, lists, tuples, strings, numbers, booleans and None; NaN is an error."""
    text = _orjson_text(value)
    return text.decode("utf-8") if text is not None else _python_text(value)
