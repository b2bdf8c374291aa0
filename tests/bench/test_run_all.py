"""bench/run_all.py: runs benchmarks as subprocesses and writes what they measured as Markdown."""

from __future__ import annotations

import platform
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bench.benchmarks_md import render
from bench.results import Run
from bench.run_all import BY_NAME, parse_args, run_benchmark

REPO = Path(__file__).resolve().parents[2]


def section(markdown: str, heading: str) -> str:
    """The text under ``## heading`` up to the next ``## ``."""
    start = markdown.index(f"## {heading}")
    end = markdown.find("\n## ", start + 1)
    return markdown[start:] if end == -1 else markdown[start:end]


def test_quick_run_of_one_benchmark_writes_the_machine_and_a_table_of_measured_figures(tmp_path: Path) -> None:
    output = tmp_path / "BENCHMARKS.md"
    default_output = REPO / "BENCHMARKS.md"
    before = default_output.stat().st_mtime_ns if default_output.exists() else None

    done = subprocess.run([sys.executable, "bench/run_all.py", "--quick", "--only", "postmortem", "--output",
                           str(output)], cwd=REPO, capture_output=True, text=True, timeout=120)

    assert done.returncode == 0, done.stdout + done.stderr
    markdown = output.read_text()
    machine = section(markdown, "Machine")
    assert re.search(r"^\| CPU \| \S.*\|$", machine, re.M)
    assert re.search(r"^\| CPUs \| \d+ \(nproc", machine, re.M)
    assert f"| Python | {platform.python_version()} " in machine
    assert re.search(r"^\| SQLite \| \d+\.\d+\.\d+", machine, re.M)
    assert "--quick --only postmortem" in markdown  # the exact command
    table = section(markdown, BY_NAME["postmortem"].title)
    rows = {m["name"]: m for m in re.finditer(
        r"^\| (?P<name>render [\d,]+ events) \| (?P<value>[\d,.]+) ms \| (?P<baseline>[^|]+) \| "
        r"(?P<baseline_value>[^|]+) \| (?P<ratio>[^|]+) \|", table, re.M)}
    assert len(rows) == 2, table  # 5,000-ish and 50,000-ish events
    larger = max(rows.values(), key=lambda m: int(m["name"].split()[1].replace(",", "")))
    assert float(larger["value"].replace(",", "")) > 0
    assert float(larger["ratio"]) > 0  # measured against the smaller size scaled linearly
    assert (default_output.stat().st_mtime_ns if default_output.exists() else None) == before


def test_a_failing_benchmark_is_reported_with_its_exit_status_and_the_tail_of_its_output() -> None:
    failing = run_benchmark(BY_NAME["startup_time"], [], timeout=60, command=[
        sys.executable, "-c", "print('starting the bot'); print('bot exited with 3: database is locked'); "
        "raise SystemExit(3)"])
    cheap = run_benchmark(BY_NAME["postmortem"], ["--sizes", "2000", "--repeat", "1"], timeout=60)

    run = Run("bench/run_all.py", False, datetime.now(UTC), "`abc` (clean tree)", {"CPU": "test"}, (0.5,),
              (0.5,), 1.0, [failing, cheap])
    markdown = render(run)

    assert failing.failed and failing.exit_status == 3
    failed = section(markdown, BY_NAME["startup_time"].title)
    assert "exit status 3" in failed and "**FAILED**" in failed
    assert "bot exited with 3: database is locked" in failed
    assert not cheap.failed  # the next benchmark still ran and is reported
    assert re.search(r"^\| render [\d,]+ events \| [\d,.]+ ms \|", section(markdown, BY_NAME["postmortem"].title),
                     re.M)


def test_a_benchmark_that_outlives_its_timeout_is_stopped_and_reported() -> None:
    outcome = run_benchmark(BY_NAME["startup_time"], [], timeout=1, command=[
        sys.executable, "-c", "import time; print('waiting', flush=True); time.sleep(60)"])

    assert outcome.failed and outcome.exit_status is None
    assert "timeout of 1s" in outcome.problem
    assert outcome.seconds < 30


def test_an_unknown_benchmark_name_is_refused_naming_it_and_the_choices(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parse_args(["--only", "postmortem,webhooks"])

    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "webhooks" in err and "webhook_ingest" in err and "startup_time" in err


def test_the_side_by_side_run_against_impulse_is_only_in_a_run_that_asks_for_it() -> None:
    default = parse_args([])
    asked = parse_args(["--only", "postmortem", "--impulse", "/srv/mirrors/impulse.git"])
    alone = parse_args(["--only", "impulse", "--impulse"])

    assert all("--impulse" not in b.args for b in default.selected)
    assert [b.name for b in asked.selected] == ["postmortem", "impulse"]
    side = asked.selected[-1]
    assert side.script.name == "webhook_ingest.py"
    assert side.args[-2:] == ("--impulse", "/srv/mirrors/impulse.git")
    assert [b.name for b in alone.selected] == ["impulse"]
    assert alone.selected[0].args[-2:] == ("--impulse", "https://github.com/eslupmi/impulse.git")
    markdown = render(Run("bench/run_all.py", False, datetime.now(UTC), "`abc` (clean tree)", {"CPU": "test"},
                          (0.5,), (0.5,), 1.0, []))
    assert re.search(r"^\| webhook ingest side by side with IMPulse.* \| — \| not run \(`--impulse`\) \|$",
                     section(markdown, "Targets from the issue"), re.M)


def test_impulse_by_name_without_the_flag_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parse_args(["--only", "impulse"])

    assert exit_info.value.code == 2
    assert "with --impulse" in capsys.readouterr().err
