"""Whatever a playbook file holds, loading gives a PlaybookSet or a PlaybookError whose
problems each name the file and a field that is really there (or a line of the YAML)."""

from __future__ import annotations

import copy
import json
import re
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.playbook import PlaybookError, PlaybookSet, load_playbooks
from tests.conftest import REPO
from tests.support.documents import locations

DEFAULT_TEXT = (REPO / "playbooks" / "default.yml").read_text()
DEFAULT = yaml.safe_load(DEFAULT_TEXT)
# Without its comments: a fifth of the text, so each example loads faster.
DEFAULT_DUMPED = yaml.safe_dump(DEFAULT, allow_unicode=True, sort_keys=False)
_PART = re.compile(r'\.?([A-Za-z_][A-Za-z0-9_-]*)|\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]')
_LOCATIONS_WITHOUT_FIELD = re.compile(r"line \d+|\(file\)|\(top level\)|\(directory\)")

scalars = (st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70) | st.floats()
           | st.text(max_size=20) | st.dates() | st.datetimes()
           | st.sampled_from(["", "0s", "-5m", "sev9", "{{ x", "{{ ''.__class__ }}", 'team=~"(["', "#Bad Channel",
                              "U0000000001", "Europe/Nowhere", "99999999999999w", "x" * 5000]))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(st.text(max_size=8) | st.integers(), inner, max_size=3), max_leaves=8)


@st.composite
def mutated_default(draw: st.DrawFn) -> str:
    """The shipped playbook with one field dropped or replaced by another value."""
    data = copy.deepcopy(DEFAULT)
    path = draw(st.sampled_from(locations(data)))
    parent = data
    for part in path[:-1]:
        parent = parent[part]
    if draw(st.booleans()):
        del parent[path[-1]]
    else:
        parent[path[-1]] = draw(values)
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


YAML_SNIPPETS = ["- ", ": ", "{", "}", "[", "]", "&a ", "*a", "!!int ", "!!binary ", "!!timestamp ", "!!map ",
                 "? ", "<<: *a", "2026-02-30", "'", '"', "\t", "#", "|", ">-", "---", "...", "~", "\\", "%YAML 1.1"]


@st.composite
def edited_default_text(draw: st.DrawFn) -> str:
    """The shipped playbook's text with a few lines deleted, duplicated or spliced with YAML syntax."""
    lines = DEFAULT_DUMPED.splitlines()
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        at = draw(st.integers(min_value=0, max_value=len(lines) - 1))
        edit = draw(st.sampled_from(["delete", "duplicate", "splice", "indent"]))
        if edit == "delete":
            del lines[at]
        elif edit == "duplicate":
            lines.insert(at, lines[at])
        elif edit == "indent":
            lines[at] = " " * draw(st.integers(min_value=1, max_value=3)) + lines[at]
        else:
            column = draw(st.integers(min_value=0, max_value=len(lines[at])))
            snippet = draw(st.sampled_from(YAML_SNIPPETS) | st.text(max_size=5))
            lines[at] = lines[at][:column] + snippet + lines[at][column:]
    return "\n".join(lines) + "\n"


documents = st.one_of(
    mutated_default(),
    edited_default_text(),
    values.map(lambda v: yaml.safe_dump(v, allow_unicode=True)),
    st.text(max_size=200),
)


def _spelled(key: Any) -> str:
    """A mapping key as written in YAML: ``null``, ``true``, ``2026-01-01``, ``5``."""
    if key is None:
        return "null"
    if isinstance(key, bool):
        return str(key).lower()
    return key.isoformat() if isinstance(key, date) else str(key)


def _walk(data: Any, path: str) -> tuple[bool, bool]:
    """(every part but the last exists, the last exists too) for ``routes[0].severity.map["a.b"]``."""
    parts: list[Any] = []
    at = 0
    while at < len(path):
        match = _PART.match(path, at)
        assert match is not None and match.end() > at, f"unreadable field path {path!r}"
        name, index, quoted = match.groups()
        parts.append(name if name is not None else int(index) if index is not None else
                     json.loads(f'"{quoted}"'))
        at = match.end()
    node = data
    for number, part in enumerate(parts):
        if isinstance(node, dict):
            found = [key for key in node if key == part or _spelled(key) == str(part)]
            exists = bool(found)
            node = node[found[0]] if exists else None
        elif isinstance(node, list) and isinstance(part, int):
            exists = part < len(node)
            node = node[part] if exists else None
        else:
            exists = False
        if not exists:
            return number == len(parts) - 1, False
    return True, True


def load(text: str) -> tuple[PlaybookSet | PlaybookError, str]:
    """Load ``text`` as the only playbook file; any exception but PlaybookError fails the test."""
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "team.yml"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        try:
            return load_playbooks(Path(directory)), str(path)
        except PlaybookError as exc:
            for problem in exc.problems:
                assert problem.file in (str(path), directory), problem
            return exc, str(path)


def _data(text: str) -> Any:
    try:
        return yaml.safe_load(text)
    except (yaml.YAMLError, ValueError, TypeError, KeyError, AttributeError, RecursionError):
        return None


@settings(max_examples=200, deadline=None)
@given(documents)
@example("name: x\nrotations:\n  primary:\n    start: 2026-02-30\n")  # found: a date that does not exist
@example("name: !!int abc\n")  # found: a scalar the tag cannot convert
@example("name: !!timestamp soon\n")  # found
@example("a: " + "[" * 300 + "]" * 300 + "\n")  # found: nesting deeper than Python's recursion limit
@example('name: x\nroutes:\n- {"\\n": 1}\n')  # found: a key with a line break broke the one-line problem
@example("&a [*a]\n")
@example("2026-01-01: x\nname: x\n")
def test_any_document_loads_or_every_problem_names_the_file_and_a_real_field(text: str) -> None:
    result, path = load(text)
    if isinstance(result, PlaybookSet):
        assert result.playbooks and result.routes
        return
    assert result.problems
    data = _data(text)
    for problem in result.problems:
        assert problem.path and problem.message and "\n" not in str(problem), problem
        assert "Traceback" not in problem.message
        if _LOCATIONS_WITHOUT_FIELD.fullmatch(problem.path) or problem.file != path or problem.path == "routes":
            continue
        parents_exist, exists = _walk(data, problem.path)
        assert parents_exist, f"{problem} names a field that is not in the document"
        assert exists or problem.message == "missing required key", problem


@pytest.mark.parametrize(("text", "where", "message"), [
    ("name: x\nrotations:\n  p:\n    start: 2026-02-30\n", "line 4",
     'invalid YAML: cannot read "2026-02-30" as timestamp: day is out of range for month '
     "(quote it to keep it as text)"),
    ("name: !!int abc\n", "line 1", 'invalid YAML: cannot read "abc" as int: invalid literal for int() with base 10: '
                                    "'abc' (quote it to keep it as text)"),
    ("name: !!bool maybe\n", "line 1", 'invalid YAML: cannot read "maybe" as bool (quote it to keep it as text)'),
    ("a: " + "[" * 300 + "]" * 300 + "\n", "(file)", "invalid YAML: nested too deeply"),
])
def test_yaml_the_parser_cannot_convert_is_a_problem_at_its_line(text: str, where: str, message: str) -> None:
    result, path = load(text)

    assert isinstance(result, PlaybookError)
    assert [(p.file, p.path, p.message) for p in result.problems] == [(path, where, message)]


def test_the_shipped_playbook_loads_after_a_round_trip_through_the_mutator() -> None:
    """Guards the strategy: unmutated, the dumped default playbook is valid."""
    result, _ = load(DEFAULT_DUMPED)
    assert isinstance(result, PlaybookSet)


def test_a_key_that_is_not_text_is_named_as_it_was_written() -> None:
    result, _ = load("name: x\nrotations:\n  2026-01-05: {users: [U1]}\n")

    assert isinstance(result, PlaybookError)
    problems = [(p.path, p.message) for p in result.problems if p.path.startswith("rotations")]
    assert problems[0] == ('rotations["2026-01-05"]', "expected a text key, got a date; put the key in quotes")
    assert ('rotations["2026-01-05"].start', "missing required key") in problems
