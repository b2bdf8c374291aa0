"""The records of a bench/run_all.py run: each benchmark it knows (:class:`Benchmark`), what one
benchmark's subprocess gave (:class:`Outcome`, with the figures its ``--json FILE`` held, in the
shape :class:`ResultsData` of bench/common.Results) and the whole run (:class:`Run`).

bench/run_all.py fills them and bench/benchmarks_md.py renders them as BENCHMARKS.md; both
import them from here, so neither imports the other for its types.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TypedDict

BENCH = Path(__file__).resolve().parent


class FigureData(TypedDict):
    """One figure of a ``--json`` file (bench/common.Figure)."""

    name: str
    value: float
    unit: str
    baseline: str | None
    baseline_value: float | None
    target: str | None
    met: bool | None


class ResultsData(TypedDict):
    """A benchmark's ``--json`` file (bench/common.Results.write)."""

    benchmark: str
    setup: str
    figures: list[FigureData]
    notes: list[str]
    failures: list[str]
    code: str


@dataclass(frozen=True)
class Benchmark:
    """A benchmark bench/run_all.py runs: its script, its section's title, its --quick sizes."""

    name: str  # the script is bench/<name>.py
    title: str
    quick: tuple[str, ...]  # arguments of a --quick run; a full run passes none
    timeout: float  # seconds of a full run before it is stopped; --quick halves it
    script_name: str = ""  # bench/<script_name>.py runs it, when that is not bench/<name>.py
    args: tuple[str, ...] = ()  # arguments of every run, quick or full

    @property
    def script(self) -> Path:
        return BENCH / f"{self.script_name or self.name}.py"


@dataclass
class Outcome:
    """What one benchmark's subprocess gave: how it ended, its output, its --json figures."""

    benchmark: Benchmark
    command: list[str]
    exit_status: int | None = None  # None: stopped after its timeout
    seconds: float = 0.0
    output: str = ""
    results: ResultsData | None = None  # the script's --json, if it wrote one
    problem: str = ""  # why there are no results

    @property
    def failed(self) -> bool:
        return self.results is None


@dataclass
class Run:
    """Everything BENCHMARKS.md says about one run of bench/run_all.py."""

    command: str
    quick: bool
    started: datetime
    code: str
    machine: dict[str, str]
    load_before: tuple[float, ...]
    load_after: tuple[float, ...] = ()
    seconds: float = 0.0
    outcomes: list[Outcome] = field(default_factory=list)
