"""Read a scenario file into a validated :class:`Scenario`, or say exactly what is wrong.

YAML is parsed once into a node tree, which gives both the data and the line of
every field, so validation problems can name ``file:line: field.path``. YAML is
loaded with the safe loader only: no tag in a scenario is ever turned into code.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Union

import yaml
from pydantic import ValidationError

from .errors import Problem, ScenarioError, dotted
from .points_table import Source, expand_points
from .schema import CrossFieldProblems, Scenario

MAX_FILE_BYTES = 20_000_000
MAX_VALUES = 2_000_000


class _ScenarioLoader(yaml.SafeLoader):
    """The safe loader, minus YAML 1.1 base-60 numbers: ``close: 22:00`` stays the
    text "22:00" instead of becoming the integer 1320."""


_ScenarioLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if not (tag.endswith((":int", ":float")) and regexp.match("22:00"))]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_ScenarioLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$"),
    list("-+0123456789"),
)


def load_scenario(path: Union[str, Path]) -> Scenario:
    """Load and validate a scenario file; raise :class:`ScenarioError` on any problem."""
    path = Path(path)
    data, lines = read_yaml(path)
    return validate_scenario(data, file=str(path), lines=lines, base_dir=path.parent)


def read_yaml(path: Path) -> tuple[Any, dict[tuple, int]]:
    """The file's data and a map from field path to line number (1-based)."""
    name = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ScenarioError([Problem(name, None, "", "no such file")]) from None
    except IsADirectoryError:
        raise ScenarioError([Problem(name, None, "", "is a folder, not a scenario file")]) from None
    except OSError as exc:
        raise ScenarioError([Problem(name, None, "", f"cannot be read ({exc.strerror})")]) from None
    if len(raw) > MAX_FILE_BYTES:
        raise ScenarioError([Problem(name, None, "", f"is larger than {MAX_FILE_BYTES:,} bytes")])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ScenarioError([Problem(name, line, "", "is not UTF-8 text")]) from None
    loader = None
    try:
        loader = _ScenarioLoader(text)
        node = loader.get_single_node()
        if node is None:
            raise ScenarioError([Problem(name, None, "", "is empty")])
        if _expanded_size(node, {}) > MAX_VALUES:
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
        raise ScenarioError([Problem(name, line, "", f"YAML syntax error: {message}")]) from None
    except yaml.YAMLError as exc:
        raise ScenarioError([Problem(name, None, "", f"YAML error: {exc}")]) from None
    except RecursionError:
        raise ScenarioError([Problem(name, None, "", "is nested too deeply")]) from None
    finally:
        if loader is not None:
            loader.dispose()
    return data, lines


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
    data, sources = expand_points(data, file, lines, base_dir)
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(_problems(exc, data, sources, file)) from None


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
