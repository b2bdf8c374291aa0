"""Load and check a directory of playbook files (``*.yml`` / ``*.yaml``, not recursive).

Playbooks are evaluated in ascending ``priority``, then by file name, and their routes
form one list: the first route whose matchers match an alert group wins, like
Alertmanager routes. Besides each file's own problems, the set must have a catch-all
route (every group must at least be recorded) and no route may sit behind one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from bot.playbook.fieldtypes import quote
from bot.playbook.problems import PlaybookError, PlaybookProblem, problems_from_errors
from bot.playbook.schema import Playbook, Route

__all__ = ["PlaybookSet", "RouteMatch", "check_playbooks", "load_playbooks", "load_with_problems"]

_SUFFIXES = (".yml", ".yaml")
_MERGE_TAG = "tag:yaml.org,2002:merge"


@dataclass(frozen=True)
class RouteMatch:
    """A route together with the playbook it belongs to."""

    playbook: Playbook
    route: Route

    def __repr__(self) -> str:
        return f"RouteMatch(playbook={self.playbook.name!r}, route={self.route.name!r})"

    @property
    def key(self) -> tuple[str, str]:
        """``(playbook name, route name)``, unique within a :class:`PlaybookSet`."""
        return (self.playbook.name, self.route.name)


@dataclass(frozen=True)
class PlaybookSet:
    """Loaded playbooks in evaluation order; ``files[i]`` is where ``playbooks[i]`` came
    from."""

    playbooks: tuple[Playbook, ...]
    files: tuple[Path, ...]
    routes: tuple[RouteMatch, ...] = field(init=False)
    """Every route of every playbook, in evaluation order."""

    def __post_init__(self) -> None:
        routes = tuple(RouteMatch(pb, route) for pb in self.playbooks for route in pb.routes)
        object.__setattr__(self, "routes", routes)

    def match(self, labels: Mapping[str, str]) -> RouteMatch | None:
        """The first route whose matchers all match ``labels``; None if none does."""
        return next((rm for rm in self.routes if rm.route.matches(labels)), None)

    def get(self, playbook_name: str) -> Playbook:
        """The playbook called ``playbook_name``; KeyError if there is none."""
        for playbook in self.playbooks:
            if playbook.name == playbook_name:
                return playbook
        raise KeyError(f"unknown playbook {quote(playbook_name)}")


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys instead of silently keeping the last one, and
    reports a value it cannot convert (``2026-02-30``, ``!!int abc``) at its line instead
    of letting the converter's exception escape."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:
            kind = str(node.tag).rpartition(":")[2]
            value = quote(node.value) if isinstance(node, yaml.ScalarNode) else "this value"
            detail = f": {exc}" if isinstance(exc, (ValueError, OverflowError)) else ""
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot read {value} as {kind}{detail} (quote it to keep it as text)",
                node.start_mark,
            ) from None


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        if key_node.tag == _MERGE_TAG or not isinstance(key_node, yaml.ScalarNode):
            continue
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {quote(key)}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=True)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _yaml_problem(file: str, exc: yaml.YAMLError) -> PlaybookProblem:
    mark = getattr(exc, "problem_mark", None)
    where = f"line {mark.line + 1}" if mark is not None else "(file)"
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    detail = f"{problem} ({context})" if context else problem
    return PlaybookProblem(file, where, " ".join(f"invalid YAML: {detail}".split()))


def _read(path: Path) -> tuple[Playbook | None, list[PlaybookProblem]]:
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [PlaybookProblem(file, "(file)", f"cannot read file: {exc}")]
    try:
        data = yaml.load(text, Loader=_StrictLoader)
    except yaml.YAMLError as exc:
        return None, [_yaml_problem(file, exc)]
    except RecursionError:
        return None, [PlaybookProblem(file, "(file)", "invalid YAML: nested too deeply")]
    if data is None:
        message = "file is empty; expected a playbook with name, severities and routes"
        return None, [PlaybookProblem(file, "(top level)", message)]
    try:
        return Playbook.model_validate(data), []
    except ValidationError as exc:
        return None, problems_from_errors(file, Playbook, exc.errors())


def _set_problems(
    loaded: list[tuple[Path, Playbook]], complete: bool, directory: Path
) -> list[PlaybookProblem]:
    """Problems between files: duplicate names, unreachable routes, no catch-all."""
    problems: list[PlaybookProblem] = []
    owners: dict[str, Path] = {}
    for path, playbook in loaded:
        if playbook.name in owners:
            message = (
                f"playbook name {quote(playbook.name)} is already used by {owners[playbook.name]}"
            )
            problems.append(PlaybookProblem(str(path), "name", message))
        owners.setdefault(playbook.name, path)
    catch_all: tuple[Path, int, Route] | None = None
    for path, playbook in loaded:
        for index, route in enumerate(playbook.routes):
            if catch_all is not None:
                where = f"routes[{catch_all[1]}]" if catch_all[0] == path else str(catch_all[0])
                message = (
                    f"route {quote(route.name)} is unreachable: catch-all route "
                    f"{quote(catch_all[2].name)} ({where}) takes every alert group first "
                    "(playbooks run by priority, then file name)"
                )
                problems.append(PlaybookProblem(str(path), f"routes[{index}]", message))
            elif route.is_catch_all:
                catch_all = (path, index, route)
    if catch_all is None and complete:
        message = (
            "no catch-all route: add a last route without matchers (auto_declare: false) so "
            "alert groups that match nothing are still recorded"
        )
        problems.append(PlaybookProblem(str(directory), "routes", message))
    return problems


def _load(directory: Path) -> tuple[PlaybookSet, list[PlaybookProblem]]:
    empty = PlaybookSet((), ())
    if not directory.is_dir():
        message = "not a directory; expected a folder of playbook files (*.yml, *.yaml)"
        return empty, [PlaybookProblem(str(directory), "(directory)", message)]
    files = sorted(
        path
        for path in directory.iterdir()
        if path.suffix in _SUFFIXES and not path.name.startswith(".") and path.is_file()
    )
    if not files:
        message = "no playbook files (*.yml, *.yaml); see playbooks/default.yml for an example"
        return empty, [PlaybookProblem(str(directory), "(directory)", message)]
    problems: list[PlaybookProblem] = []
    loaded: list[tuple[Path, Playbook]] = []
    for path in files:
        playbook, file_problems = _read(path)
        problems.extend(file_problems)
        if playbook is not None:
            loaded.append((path, playbook))
    loaded.sort(key=lambda item: (item[1].priority, item[0].name))
    problems.extend(_set_problems(loaded, complete=len(loaded) == len(files), directory=directory))
    playbooks = PlaybookSet(tuple(pb for _, pb in loaded), tuple(path for path, _ in loaded))
    return playbooks, problems


def load_with_problems(directory: Path) -> tuple[PlaybookSet, list[PlaybookProblem]]:
    """The playbooks of ``directory`` that load, and every problem found (files that have
    problems of their own are left out of the set)."""
    return _load(directory)


def check_playbooks(directory: Path) -> list[PlaybookProblem]:
    """Every problem in every playbook file of ``directory``; empty when all is well."""
    return _load(directory)[1]


def load_playbooks(directory: Path) -> PlaybookSet:
    """Load the playbooks of ``directory``.

    Raises:
        PlaybookError: listing every problem, if there is any.
    """
    playbooks, problems = _load(directory)
    if problems:
        raise PlaybookError(problems)
    return playbooks
