"""Cross-reference checks inside one playbook, run on raw (possibly invalid) input.

They run on the raw mapping rather than on the validated model so that a playbook with
a bad duration *and* an unknown severity reports both at once. Every access is defensive:
anything that is not shaped as expected is left to field validation to report.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pydantic import BaseModel
from pydantic_core import InitErrorDetails, PydanticCustomError

from bot.playbook.fieldtypes import quote

__all__ = ["reference_errors"]

Loc = tuple[str | int, ...]


def _get(obj: Any, key: str) -> Any:
    """A key of a raw mapping, or a field of a model given from Python code."""
    if isinstance(obj, Mapping):
        return obj.get(key)
    if isinstance(obj, BaseModel):
        return getattr(obj, key, None)
    return None


def _items(obj: Any) -> Iterator[tuple[int, Any]]:
    return enumerate(obj) if isinstance(obj, (list, tuple)) else iter(())


def _error(loc: Loc, message: str, value: Any) -> InitErrorDetails:
    return {"type": PydanticCustomError("reference", message), "loc": loc, "input": value}


def _duplicates(section: str, entries: Any, what: str) -> Iterator[InitErrorDetails]:
    first_seen: dict[str, int] = {}
    for index, entry in _items(entries):
        name = _get(entry, "name")
        if not isinstance(name, str):
            continue
        if name in first_seen:
            yield _error(
                (section, index, "name"),
                f"duplicate {what} name {quote(name)} (also {section}[{first_seen[name]}])",
                name,
            )
        else:
            first_seen[name] = index


def _known_severities(data: Any) -> list[str] | None:
    """Severity names, or None when any entry lacks a string name (checks would mislead)."""
    severities = _get(data, "severities")
    if not isinstance(severities, (list, tuple)):
        return None
    names = [_get(entry, "name") for entry in severities]
    if not all(isinstance(name, str) for name in names):
        return None
    return list(dict.fromkeys(names))


def _severity_ref(loc: Loc, value: Any, known: list[str]) -> Iterator[InitErrorDetails]:
    if isinstance(value, str) and value not in known:
        yield _error(loc, f"unknown severity {quote(value)} (known: {', '.join(known)})", value)


def _route_errors(
    index: int, route: Any, severities: list[str] | None, rotations: list[str] | None
) -> Iterator[InitErrorDetails]:
    at: Loc = ("routes", index)
    rule = _get(route, "severity")
    if severities is not None:
        mapping = _get(rule, "map")
        if isinstance(mapping, Mapping):
            for label_value, name in mapping.items():
                yield from _severity_ref(
                    (*at, "severity", "map", str(label_value)), name, severities
                )
        yield from _severity_ref((*at, "severity", "default"), _get(rule, "default"), severities)
        minimum = _get(_get(route, "auto_declare"), "min_severity")
        yield from _severity_ref((*at, "auto_declare", "min_severity"), minimum, severities)
    rotation = _get(_get(route, "commander"), "rotation")
    if rotations is not None and isinstance(rotation, str) and rotation not in rotations:
        known = (
            f"known: {', '.join(rotations)}" if rotations else "this playbook defines no rotations"
        )
        yield _error(
            (*at, "commander", "rotation"),
            f"unknown rotation {quote(rotation)} ({known})",
            rotation,
        )


def reference_errors(data: Any) -> list[InitErrorDetails]:
    """Problems with names and references in a raw playbook mapping, as pydantic errors
    located at the offending field."""
    if not isinstance(data, Mapping):
        return []
    errors = [
        *_duplicates("severities", _get(data, "severities"), "severity"),
        *_duplicates("routes", _get(data, "routes"), "route"),
    ]
    severities = _known_severities(data)
    raw_rotations = _get(data, "rotations")
    rotations: list[str] | None
    if raw_rotations is None:
        rotations = []
    elif isinstance(raw_rotations, Mapping):
        rotations = [str(name) for name in raw_rotations]
    else:
        rotations = None
    for index, route in _items(_get(data, "routes")):
        errors.extend(_route_errors(index, route, severities, rotations))
    return errors
