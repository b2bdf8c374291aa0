"""Statements compiled once per dialect and handed straight to the driver's cursor.

``Session.execute`` spends about 50 µs on a statement before the driver sees it (ORM
dispatch, the cache key, parameter and result set-up): on SQLite ten times what the statement
itself costs, and the webhook path runs a dozen of them per delivery in SQLite's one writer
thread, where every microsecond delays every write. A :class:`Prepared` keeps what SQLAlchemy
is for, the SQL its dialect compiles from the models and the column types' conversions (the
bind and result processors: JSON text, UTC timestamps), and leaves out the per-call rest. It
runs in the session's transaction, on its connection, and fires SQLAlchemy's cursor events
(so instrumentation and statement counters still see every statement) and its error handling
(driver errors become ``sqlalchemy.exc`` errors, a lost connection is invalidated).

What it does not do, it refuses when the statement is first compiled: defaults computed in
Python (pass every value), and parameters rendered per call (``expanding`` IN lists).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.engine.interfaces import DBAPICursor
from sqlalchemy.orm import Session
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

_Processor = Callable[[Any], Any] | None
Params = Mapping[str, Any]


class _Execution:
    """Stands for SQLAlchemy's execution context in its cursor events and error handling:
    listeners may keep state on it (the OpenTelemetry instrumentation keeps its span)."""

    def __init__(self, executemany: bool) -> None:
        self.executemany = executemany

    def handle_dbapi_exception(self, error: BaseException) -> None:
        """Nothing to clean up: the cursor is the caller's, the transaction the session's."""


@dataclass(frozen=True, slots=True)
class _Form:
    """A statement as one dialect runs it."""

    sql: str
    names: tuple[str, ...]  # the parameters, in the order of the placeholders
    processors: tuple[_Processor, ...]
    columns: tuple[str, ...]  # of the rows it returns
    results: tuple[_Processor, ...]
    literals: Mapping[str, Any]  # values written in the statement itself ("status = 'firing'")
    _pick: Callable[[Params], Any] = field(init=False)
    _converted: tuple[tuple[int, Callable[[Any], Any]], ...] = field(init=False)
    _converted_results: tuple[tuple[int, Callable[[Any], Any]], ...] = field(init=False)

    def __post_init__(self) -> None:
        pick = itemgetter(*self.names) if self.names else (lambda _params: ())
        object.__setattr__(self, "_pick", (lambda params: (pick(params),)) if len(self.names) == 1 else pick)
        object.__setattr__(self, "_converted", _positions(self.processors))
        object.__setattr__(self, "_converted_results", _positions(self.results))

    def bind(self, params: Params) -> Sequence[Any]:
        if self.literals:
            params = {**self.literals, **params}
        values = self._pick(params)
        if not self._converted:
            return values  # type: ignore[no-any-return]  # itemgetter's tuple
        values = list(values)
        for position, convert in self._converted:
            values[position] = convert(values[position])
        return values

    def row(self, raw: Sequence[Any]) -> Sequence[Any]:
        if not self._converted_results:
            return raw
        values = list(raw)
        for position, convert in self._converted_results:
            values[position] = convert(values[position])
        return values


def _positions(processors: tuple[_Processor, ...]) -> tuple[tuple[int, Callable[[Any], Any]], ...]:
    return tuple((i, process) for i, process in enumerate(processors) if process is not None)


def _connection(session: Session) -> Connection:
    """The session's connection in its transaction (beginning it), kept in ``session.info``:
    ``Session.connection()`` costs more than a SQLite statement."""
    conn: Connection | None = session.info.get(_CONNECTION)
    if conn is None or conn.closed or not conn.in_transaction():
        conn = session.info[_CONNECTION] = session.connection()
    return conn


_CONNECTION = "storage.prepared.connection"


class Prepared:
    """One Core statement (with ``bindparam`` values, or an INSERT's column values),
    compiled on first use per dialect and per set of inserted columns."""

    def __init__(self, statement: ClauseElement) -> None:
        self._statement = statement
        self._forms: dict[tuple[str, tuple[str, ...]], _Form] = {}

    def execute(self, session: Session, params: Params) -> DBAPICursor:
        """Run once; the cursor holds what it returns (read it with :meth:`rows`)."""
        return self._execute(session, params)[0]

    def execute_many(self, session: Session, rows: Sequence[Params]) -> None:
        """Run once per row, in one driver call (every row with the same keys)."""
        if not rows:
            return
        conn = _connection(session)
        form = self._form(conn.dialect, tuple(rows[0]))
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]  # open: in a transaction
        _run(conn, cursor, form.sql, [form.bind(row) for row in rows], many=True)

    def rows(self, session: Session, params: Params) -> list[dict[str, Any]]:
        """The rows it returns, by column name, converted by the columns' types."""
        cursor, form = self._execute(session, params)
        return [dict(zip(form.columns, form.row(raw), strict=True)) for raw in cursor.fetchall()]

    def values(self, session: Session, params: Params) -> list[tuple[Any, ...]]:
        """The rows it returns as tuples, in the order of its columns."""
        cursor, form = self._execute(session, params)
        return [tuple(form.row(raw)) for raw in cursor.fetchall()]

    def _execute(self, session: Session, params: Params) -> tuple[DBAPICursor, _Form]:
        conn = _connection(session)
        form = self._form(conn.dialect, tuple(params))
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]  # open: in a transaction
        _run(conn, cursor, form.sql, form.bind(params), many=False)
        return cursor, form

    def _form(self, dialect: Dialect, keys: tuple[str, ...]) -> _Form:
        form = self._forms.get((dialect.name, keys))
        if form is None:
            form = self._forms[(dialect.name, keys)] = self._compile(dialect, keys)
        return form

    def _compile(self, dialect: Dialect, keys: tuple[str, ...]) -> _Form:
        compiled = self._statement.compile(dialect=dialect, column_keys=list(keys))
        assert isinstance(compiled, SQLCompiler)
        computed = [c.key for c in (*compiled.insert_prefetch, *compiled.update_prefetch)]
        if computed:
            raise ValueError(f"give every value: {', '.join(computed)} would be computed in Python")
        if compiled.post_compile_params or compiled.literal_execute_params:
            raise ValueError("parameters rendered per execution (expanding IN) are not supported")
        if compiled.positiontup is None:
            raise ValueError(f"the {dialect.name} driver's parameters are not positional")
        names = tuple(compiled.positiontup)
        binds: list[_Processor] = []
        for name in names:  # what SQLAlchemy applies to each value before the driver sees it
            process = compiled._bind_processors.get(name)
            if process is not None and not callable(process):
                raise ValueError(f"{name}: tuple-valued parameters are not supported")
            binds.append(process)
        columns = tuple(entry.keyname for entry in compiled._result_columns)
        results = tuple(entry.type._cached_result_processor(dialect, None)  # what a Result would apply
                        for entry in compiled._result_columns)
        literals = {name: bind.effective_value for name, bind in compiled.binds.items()
                    if not bind.required and name in names}
        return _Form(compiled.string, names, tuple(binds), columns, results, literals)


def _run(conn: Connection, cursor: DBAPICursor, sql: str, values: Any, *, many: bool) -> None:
    """What ``Connection`` does around a driver call, without the rest of ``execute``."""
    execution = _Execution(many)
    try:
        for listener in conn.dispatch.before_cursor_execute:
            sql, values = listener(conn, cursor, sql, values, execution, many)
        if many:
            cursor.executemany(sql, values)
        else:
            cursor.execute(sql, values)
        conn.dispatch.after_cursor_execute(conn, cursor, sql, values, execution, many)
    except BaseException as error:  # noqa: BLE001 - SQLAlchemy's own handling: wrap, tell listeners, invalidate
        conn._handle_dbapi_exception(error, sql, values, cursor, execution)  # type: ignore[arg-type]
