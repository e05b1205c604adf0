"""Read a scenario file into a validated :class:`Scenario`, or say exactly what is wrong.

YAML is parsed once into a node tree, which gives both the data and the line of
every field, so validation problems can name ``file:line: field.path``. YAML is
loaded with the safe loader only: no tag in a scenario is ever turned into code.

Limits come before work: the file is refused by type and size before it is read
(reading.py), and its parse events are counted (libyaml's parser when PyYAML has
it, about a microsecond an event) before any node is built, so a list longer
than any the schema accepts (a million service times) or a document of too many
values is refused in a fraction of a second, naming its line and field. Nodes are
then built by libyaml too when present; on a YAML error the pure-Python parser
reads the file again, so problems are worded the same with or without libyaml.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Union

import yaml
from pydantic import ValidationError

from ..collector import paused
from .errors import Problem, ScenarioError, dotted
from .points_table import Source, expand_points
from .reading import Unreadable, read_input, whole_number
from .schema import CrossFieldProblems, Scenario

MAX_FILE_BYTES = 20_000_000
MAX_VALUES = 2_000_000
MAX_ITEMS = 100_000
"""The longest list the schema accepts (points, empirical values): a longer one is refused while parsing."""
MAX_DEPTH = 64
"""Deeper nesting than any scenario needs (about ten levels) is refused while parsing."""


class _Scenario:
    """The safe loader's rules, minus YAML 1.1 base-60 numbers: ``close: 22:00`` stays the
    text "22:00" instead of becoming the integer 1320; and whole numbers of any length."""

    yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers
                if not (tag.endswith((":int", ":float")) and regexp.match("22:00"))]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def construct_yaml_int(self, node):
        text = self.construct_scalar(node)
        if text.lstrip("+-")[:2] in ("0b", "0x") or text.lstrip("+-").startswith("0"):
            return super().construct_yaml_int(node)  # powers of two have no digit limit; "0" and octal too
        return whole_number(text)


class ScenarioLoader(_Scenario, yaml.SafeLoader):
    """The pure-Python loader (its error messages are the reference)."""


_INT_PATTERN = re.compile(r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$")
ScenarioLoader.add_implicit_resolver("tag:yaml.org,2002:int", _INT_PATTERN, list("-+0123456789"))
ScenarioLoader.add_constructor("tag:yaml.org,2002:int", _Scenario.construct_yaml_int)
_FastLoader = ScenarioLoader
if getattr(yaml, "__with_libyaml__", False):
    class _FastLoader(_Scenario, yaml.CSafeLoader):  # type: ignore[no-redef]
        """libyaml's parser with the same rules: several times faster on a city's file."""

    _FastLoader.yaml_implicit_resolvers = ScenarioLoader.yaml_implicit_resolvers
    _FastLoader.add_constructor("tag:yaml.org,2002:int", _Scenario.construct_yaml_int)


def load_scenario(path: Union[str, Path]) -> Scenario:
    """Load and validate a scenario file; raise :class:`ScenarioError` on any problem."""
    path = Path(path)
    with paused():  # a city's points: objects by the hundred thousand, all kept
        data, lines = read_yaml(path)
        return validate_scenario(data, file=str(path), lines=lines, base_dir=path.parent)


def read_yaml(path: Path) -> tuple[Any, dict[tuple, int]]:
    """The file's data and a map from field path to line number (1-based)."""
    name = str(path)
    try:
        raw = read_input(path, MAX_FILE_BYTES, "scenario file")
    except Unreadable as exc:
        raise ScenarioError([Problem(name, None, "", str(exc))]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ScenarioError([Problem(name, line, "", "is not UTF-8 text")]) from None
    try:
        return _parse(text, name, _FastLoader)
    except _YamlProblem:
        if _FastLoader is ScenarioLoader:
            raise
        # libyaml words its errors differently (and may stop elsewhere): the reference parser says what is wrong.
        return _parse(text, name, ScenarioLoader)


class _YamlProblem(ScenarioError):
    """The text is not YAML the loader accepts (as opposed to a limit or a key refused)."""


def _parse(text: str, name: str, kind: type) -> tuple[Any, dict[tuple, int]]:
    loader = None
    try:
        aliases = _count_events(kind(text), name)
        loader = kind(text)
        node = loader.get_single_node()
        if node is None:
            raise ScenarioError([Problem(name, None, "", "is empty")])
        # Without aliases the document holds the values counted already; with them, each alias expanded.
        if aliases and _expanded_size(node, {}) > MAX_VALUES:
            raise ScenarioError([Problem(name, None, "", f"expands to more than {MAX_VALUES:,} values (YAML aliases)")])
        lines: dict[tuple, int] = {}
        problems: list[Problem] = []
        _map_lines(node, (), lines, problems, name)
        if problems:
            raise ScenarioError(problems)
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        message = " ".join(str(part) for part in (exc.context, exc.problem) if part)
        raise _YamlProblem([Problem(name, line, "", f"YAML syntax error: {message}")]) from None
    except yaml.YAMLError as exc:
        raise _YamlProblem([Problem(name, None, "", f"YAML error: {exc}")]) from None
    except RecursionError:
        raise ScenarioError([Problem(name, None, "", "is nested too deeply")]) from None
    finally:
        if loader is not None:
            loader.dispose()
    return data, lines


def _count_events(parser, name: str) -> bool:
    """Refuse, before any node is built, a document of more than MAX_VALUES values, a list of more than
    MAX_ITEMS items or nesting deeper than MAX_DEPTH (aliases count once here: see _expanded_size). Whether the
    document holds an alias: only then can it expand to more values than it holds (a city's resolved
    scenario.yaml has none: walking its 360,000 nodes again took 0.3 s of its 2.3 s for 2,500 points)."""
    frames: list[list] = []  # per open collection: [is a mapping, items (keys and values) so far, last key, line]
    values = 0
    aliases = False
    try:
        while parser.check_event():
            event = parser.get_event()
            if isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                frames.pop()
                continue
            if not isinstance(event, yaml.NodeEvent):
                continue
            values += 1
            aliases = aliases or isinstance(event, yaml.AliasEvent)
            if values > MAX_VALUES:
                _refuse(name, frames, event.start_mark.line + 1, f"holds more than {MAX_VALUES:,} values")
            if frames:
                frame = frames[-1]
                frame[1] += 1
                if frame[0] and frame[1] % 2:  # a key of a mapping
                    frame[2] = event.value if isinstance(event, yaml.ScalarEvent) else "?"
                elif not frame[0] and frame[1] > MAX_ITEMS:
                    _refuse(name, frames, frame[3], f"is a list of more than {MAX_ITEMS:,} items")
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                frames.append([isinstance(event, yaml.MappingStartEvent), 0, None, event.start_mark.line + 1])
                if len(frames) > MAX_DEPTH:
                    raise ScenarioError([Problem(name, event.start_mark.line + 1, "", "is nested too deeply")])
    finally:
        parser.dispose()
    return aliases


def _refuse(name: str, frames: list[list], line: int, message: str) -> None:
    """A problem at the innermost open collection: each outer one contributes its current key or index."""
    path = tuple(frame[2] if frame[0] else frame[1] - 1 for frame in frames[:-1])
    raise ScenarioError([Problem(name, line, dotted(path), message)])


def _expanded_size(node: yaml.Node, sizes: dict[int, int]) -> int:
    """How many values the document holds once aliases are expanded (memoised per node)."""
    if id(node) not in sizes:
        sizes[id(node)] = 1  # a node met again while being counted is a cycle: count it once
        if isinstance(node, yaml.MappingNode):
            sizes[id(node)] = 1 + sum(_expanded_size(k, sizes) + _expanded_size(v, sizes) for k, v in node.value)
        elif isinstance(node, yaml.SequenceNode):
            sizes[id(node)] = 1 + sum(_expanded_size(item, sizes) for item in node.value)
    return min(sizes[id(node)], MAX_VALUES + 1)


def _map_lines(node: yaml.Node, path: tuple, lines: dict[tuple, int], problems: list[Problem], name: str) -> None:
    """Record the line of every field under ``node``; report keys given twice or not text."""
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen = set()
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else repr(key_node.value)
            line = key_node.start_mark.line + 1
            if key in seen:
                problems.append(Problem(name, line, dotted(path + (key,)), "is given twice"))
            elif isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:str" and key_node.tag.startswith("tag:yaml.org"):
                kind = key_node.tag.rsplit(":", 1)[-1]
                problems.append(Problem(name, line, dotted(path + (key,)),
                                        f"YAML reads this key as a {kind}, not a field name: put it in quotes, or check its spelling"))
            seen.add(key)
            _map_lines(value_node, path + (key,), lines, problems, name)
            lines[path + (key,)] = line
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _map_lines(item, path + (index,), lines, problems, name)


def validate_scenario(
    data: Any, file: str = "<scenario>", lines: dict[tuple, int] | None = None, base_dir: Path = Path(".")
) -> Scenario:
    """Validate already-parsed scenario data, naming ``file`` and lines in problems.

    ``points_file`` is read relative to ``base_dir``; ``defaults`` are merged into every point.
    """
    lines = lines or {}
    if not isinstance(data, dict):
        raise ScenarioError([Problem(file, lines.get(()), "", "must be a mapping of fields (name, points, arrivals...)")])
    with paused():  # as in load_scenario: also for data given as it is (the app)
        data, sources = expand_points(data, file, lines, base_dir)
        try:
            return Scenario.model_validate(data)
        except ValidationError as exc:
            raise ScenarioError(_problems(exc, data, sources(), file)) from None


def _problems(exc: ValidationError, data: Any, sources: dict[tuple, Source], file: str) -> list[Problem]:
    merged: dict[tuple, list[str]] = {}
    for error in exc.errors(include_url=False):
        cause = (error.get("ctx") or {}).get("error")
        if isinstance(cause, CrossFieldProblems):
            for path, message in cause.problems:
                merged.setdefault(tuple(path), []).append(message)
            continue
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "is not a known field (see docs/scenario-format.md)"
        elif error["type"] == "missing":
            message = "is required"
        path = _data_path(error["loc"], data)
        if error["type"] == "union_tag_invalid":
            path += (str(error["ctx"]["discriminator"]).strip("'"),)  # name the tag field itself
        merged.setdefault(path, []).append(message)
    problems = {}
    for path, messages in merged.items():
        known = path
        while known and known not in sources:
            known = known[:-1]
        source = sources.get(known, Source(file, None, ""))
        suffix = dotted(path[len(known):]) if len(path) > len(known) else ""
        if suffix and not suffix.startswith("["):
            suffix = "." + suffix if source.field else suffix
        problem = Problem(source.file, source.line, source.field + suffix, _join(messages))
        problems[str(problem)] = problem  # a mistake in the defaults is reported once, not per point
    return sorted(problems.values(), key=lambda p: (p.file, p.line or 0, p.field))


def _join(messages: list[str]) -> str:
    """One message from the alternatives a union tried: "should be 'a' or >= 1"."""
    unique = list(dict.fromkeys(messages))
    prefix = "Input should be "
    if len(unique) > 1 and all(m.startswith(prefix) for m in unique):
        return prefix + " or ".join(m.removeprefix(prefix) for m in unique)
    return "; or ".join(unique)


def _data_path(loc: tuple, data: Any) -> tuple:
    """Drop pydantic's union tags from an error location, keeping real field names.

    A location element is kept when it exists in the data at that depth; the
    last element is always kept (a missing field is named though absent).
    """
    path: list = []
    node = data
    tag_skipped = None
    for position, key in enumerate(loc):
        last = position == len(loc) - 1
        if isinstance(node, dict) and tag_skipped is not node and key in (node.get("kind"), node.get("dist")):
            tag_skipped = node  # the tag of a tagged union (arrivals kind, distribution), not a field
            continue
        if isinstance(node, dict) and key in node:
            path.append(key)
            node = node[key]
        elif isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
            path.append(key)
            node = node[key]
        elif last and isinstance(key, (str, int)) and not _is_tag(key):
            path.append(key)
    return tuple(path)


def _is_tag(key: Any) -> bool:
    return isinstance(key, str) and ("[" in key or "-" in key or key in {"int", "str", "float", "bool"})
