"""Problems found in playbook files, and how pydantic errors become readable lines."""

from __future__ import annotations

import json
import re
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from pydantic import BaseModel
from pydantic_core import ErrorDetails

__all__ = [
    "PlaybookError",
    "PlaybookProblem",
    "format_loc",
    "problem_from_error",
    "problems_from_errors",
]

_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_PYDANTIC_PREFIXES = ("Value error, ", "Assertion failed, ")


@dataclass(frozen=True)
class PlaybookProblem:
    """One problem: ``file: path: message`` where path is like ``routes[0].matchers[1]``
    (``line N`` for YAML syntax errors) and message says what is wrong and what is
    expected."""

    file: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.path}: {self.message}"


class PlaybookError(Exception):
    """Playbooks could not be loaded; ``problems`` lists every problem found."""

    def __init__(self, problems: Sequence[PlaybookProblem]) -> None:
        self.problems: list[PlaybookProblem] = list(problems)
        count = len(self.problems)
        lines = "\n".join(str(problem) for problem in self.problems)
        super().__init__(f"{count} playbook problem{'s' if count != 1 else ''}:\n{lines}")


def format_loc(loc: Sequence[int | str]) -> str:
    """``("routes", 0, "matchers", 1)`` -> ``routes[0].matchers[1]``; keys that are not
    plain words are quoted: ``map["a.b"]``."""
    out = ""
    for part in loc:
        if part == "[key]":  # pydantic's marker for an invalid dict key; the key is the path
            continue
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_KEY.fullmatch(part):
            out += f".{part}" if out else part
        else:
            out += f"[{json.dumps(part, ensure_ascii=False)}]"  # escapes quotes and line breaks
    return out or "(top level)"


def _unwrap(tp: Any) -> Any:
    """Strip Annotated and Optional around a model type."""
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [arg for arg in typing.get_args(tp) if arg is not type(None)]
            if len(args) != 1:
                return tp
            tp = args[0]
        else:
            return tp


def _allowed_keys(root: type[BaseModel], loc: Sequence[int | str]) -> list[str] | None:
    """The field names of the model found at ``loc`` (walking lists and dicts)."""
    tp: Any = root
    for part in loc:
        tp = _unwrap(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            field = tp.model_fields.get(str(part))
            if field is None:
                return None
            tp = field.annotation
        elif typing.get_origin(tp) in (list, tuple):
            tp = typing.get_args(tp)[0]
        elif typing.get_origin(tp) is dict:
            tp = typing.get_args(tp)[1]
        else:
            return None
    tp = _unwrap(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return list(tp.model_fields)
    return None


def _describe(value: Any) -> str:
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return f"{str(value).lower()}"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, date):
        return "a date"
    names = {int: "a number", float: "a number", dict: "a mapping", list: "a list"}
    return names.get(type(value), type(value).__name__)


def _is_key_error(error: ErrorDetails) -> bool:
    """A mapping key that is not text (``1:``, ``2026-01-01:``, ``~:`` in YAML)."""
    return error["type"] == "invalid_key" or (bool(error["loc"]) and error["loc"][-1] == "[key]")


def _key_text(key: Any) -> str:
    """A key as YAML spelled it (pydantic's location holds its Python repr)."""
    if key is None:
        return "null"
    if isinstance(key, bool):
        return str(key).lower()
    if isinstance(key, date):
        return key.isoformat()
    return str(key)


def _message(root: type[BaseModel], error: ErrorDetails) -> str:
    kind, loc, message = error["type"], error["loc"], error["msg"]
    if _is_key_error(error):
        return f"expected a text key, got {_describe(error['input'])}; put the key in quotes"
    if kind == "extra_forbidden":
        allowed = _allowed_keys(root, loc[:-1])
        return f"unknown key (allowed: {', '.join(allowed)})" if allowed else "unknown key"
    if kind == "missing":
        return "missing required key"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"expected a mapping of keys, got {_describe(error['input'])}"
    if kind in ("list_type", "tuple_type"):
        return f"expected a list, got {_describe(error['input'])}"
    if kind == "too_short":
        return "expected at least one entry"
    for prefix in _PYDANTIC_PREFIXES:
        if message.startswith(prefix):
            return message[len(prefix) :]
    if message.startswith("Input should be "):
        # pydantic's generic wording, turned into this module's "expected ..., got ..."
        return f"expected {message[len('Input should be ') :]}, got {_describe(error['input'])}"
    return message


def problem_from_error(
    file: str, root: type[BaseModel], error: ErrorDetails, loc: Sequence[int | str] | None = None
) -> PlaybookProblem:
    """Turn one pydantic error on ``root`` into a one-line problem (at ``loc`` if given)."""
    message = " ".join(_message(root, error).split())
    return PlaybookProblem(file, format_loc(error["loc"] if loc is None else loc), message)


def problems_from_errors(
    file: str, root: type[BaseModel], errors: Sequence[ErrorDetails]
) -> list[PlaybookProblem]:
    """One problem per error; a key that is not text is named as YAML spelled it
    (``rotations["2026-01-01"]``), also in the problems of the value under it."""
    renamed: dict[tuple[int | str, ...], tuple[int | str, ...]] = {}
    for error in errors:
        if _is_key_error(error):
            loc = tuple(error["loc"][:-1] if error["loc"][-1] == "[key]" else error["loc"])
            renamed[loc] = (*loc[:-1], _key_text(error["input"]))
    problems = []
    for error in errors:
        loc = tuple(error["loc"])
        if loc and loc[-1] == "[key]":
            loc = loc[:-1]
        for old, new in renamed.items():
            if loc[: len(old)] == old:
                loc = (*new, *loc[len(old):])
                break
        problems.append(problem_from_error(file, root, error, loc))
    return problems
