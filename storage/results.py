"""What a statement's result says beyond its rows."""

from __future__ import annotations

from typing import Any

from sqlalchemy import CursorResult, Result


def rows_affected(result: Result[*tuple[Any, ...]]) -> int:
    """How many rows an INSERT, UPDATE or DELETE without RETURNING touched."""
    assert isinstance(result, CursorResult), "only a DML statement's result counts rows"
    return int(result.rowcount or 0)
