"""The ``incident-bot`` command line, run as a separate process the way an operator runs it."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from bot import __version__
from bot.domain.rotation import commander_at
from bot.playbook import load_playbooks
from storage.migrate import head_revision
from tests.conftest import FIXTURES
from tests.support import databases
from tests.support.bot import free_port
from tests.support.cli import PLAYBOOKS, cli_env, run_cli, serving
from tests.support.integration import unavailable

FIRING = FIXTURES / "alertmanager-0.25" / "1-firing.json"
CHANNEL = re.compile(r"inc-\d{8}-1-high-error-rate-in-checkout")
RUNBOOK = "https://runbooks.example.com/high-error-rate"

BROKEN_PLAYBOOK = """\
name: broken
description: three mistakes an operator makes
colour: blue
severities:
  - name: sev1
    update_every: soon
    ack_timeout: 5m
routes:
  - name: all
    severity:
      default: sev1
"""


@pytest.fixture
def cwd(tmp_path: Path) -> Path:
    """An empty working directory, so anything a command writes there is visible."""
    directory = tmp_path / "cwd"
    directory.mkdir()
    return directory


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return cli_env(tmp_path)


@pytest.fixture
def broken_playbooks(tmp_path: Path) -> Path:
    directory = tmp_path / "playbooks"
    directory.mkdir()
    (directory / "broken.yml").write_text(BROKEN_PLAYBOOK)
    return directory


def broken_playbook_problems(directory: Path) -> list[str]:
    """The exact lines for two of the problems (the third is checked in `assert_unknown_key_reported`)."""
    file = directory / "broken.yml"
    return [
        f"{file}: severities[0].update_every: expected a duration like 30s, 5m, 1h30m, 2d "
        '(units: w, d, h, m, s, ms; largest first), got "soon"',
        f"{file}: severities[0].description: missing required key",
    ]


def assert_unknown_key_reported(directory: Path, lines: list[str]) -> None:
    # The list of allowed keys grows with the format, so only its start is pinned.
    prefix = f"{directory / 'broken.yml'}: colour: unknown key (allowed: name, description, "
    assert [line for line in lines if line.startswith(prefix)], lines


def database_file(env: dict[str, str]) -> Path:
    return Path(make_url(env["DATABASE_URL"]).database or "")


# --- help ------------------------------------------------------------------------------

def test_top_level_help_lists_every_subcommand(env: dict[str, str], cwd: Path) -> None:
    result = run_cli(["--help"], env, cwd)

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: incident-bot")
    for command in ("demo", "serve", "check", "simulate", "postmortem", "report", "db"):
        assert re.search(rf"^\s+{command}\s", result.stdout, re.MULTILINE), f"{command} missing from:\n{result.stdout}"


CONTRACT_ENVIRONMENT = (
    "DATABASE_URL", "PLAYBOOKS_DIR", "HOST", "PORT", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_API_URL",
    "SLACK_APP_TOKEN", "ALERTMANAGER_WEBHOOK_TOKEN", "ALERTMANAGER_WEBHOOK_USER", "ALERTMANAGER_WEBHOOK_PASSWORD",
    "ALERTMANAGER_URL", "PROMETHEUS_URL", "API_TOKEN", "SLASH_COMMAND", "LOG_LEVEL", "LOG_FORMAT",
)


def test_top_level_help_names_every_environment_variable_of_the_contract(env: dict[str, str], cwd: Path) -> None:
    result = run_cli(["--help"], env, cwd)

    missing = [name for name in CONTRACT_ENVIRONMENT if not re.search(rf"\b{name}\b", result.stdout)]
    assert not missing, f"--help does not mention {missing}"


@pytest.mark.parametrize(("args", "mentions"), [
    (["demo"], ["usage: incident-bot demo", "--dir", "console Slack", "postmortem draft"]),
    (["serve"], ["usage: incident-bot serve", "HOST:PORT"]),
    (["check"], ["usage: incident-bot check", "directory", "PLAYBOOKS_DIR", "--slack", "SLACK_BOT_TOKEN",
                 "SLACK_API_URL"]),
    (["simulate"], ["usage: incident-bot simulate", "payload", "--json", "Writes nothing"]),
    (["db"], ["usage: incident-bot db", "upgrade"]),
    (["db", "upgrade"], ["usage: incident-bot db upgrade", "database schema"]),
], ids=["demo", "serve", "check", "simulate", "db", "db upgrade"])
def test_every_subcommand_has_help(env: dict[str, str], cwd: Path, args: list[str], mentions: list[str]) -> None:
    result = run_cli([*args, "--help"], env, cwd)

    assert result.returncode == 0, result.stderr
    for text in mentions:
        assert text in result.stdout


def test_installed_console_script_runs(env: dict[str, str], cwd: Path) -> None:
    script = Path(sys.executable).with_name("incident-bot")
    assert script.exists(), f"{script} missing: install the project (pip install -e .)"

    result = subprocess.run([str(script), "--version"], env=env, cwd=cwd, capture_output=True, text=True,
                            timeout=30, check=False)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"incident-bot {__version__}"


# --- check -----------------------------------------------------------------------------

def test_check_accepts_the_shipped_playbooks(env: dict[str, str], cwd: Path) -> None:
    result = run_cli(["check"], env, cwd)

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == f"ok: 1 playbook file(s) in {PLAYBOOKS}: default.yml\n"


def test_check_lists_each_problem_as_file_field_message_and_exits_1(
        env: dict[str, str], cwd: Path, broken_playbooks: Path) -> None:
    result = run_cli(["check", str(broken_playbooks)], env, cwd)

    assert result.returncode == 1
    lines = result.stdout.splitlines()
    for expected in broken_playbook_problems(broken_playbooks):
        assert expected in lines
    assert_unknown_key_reported(broken_playbooks, lines)
    assert len(lines) == 3
    assert f"3 problem(s) in {broken_playbooks}" in result.stderr
    assert "Traceback" not in result.stderr


def test_check_reads_playbooks_dir_from_the_environment(
        tmp_path: Path, cwd: Path, broken_playbooks: Path) -> None:
    result = run_cli(["check"], cli_env(tmp_path, PLAYBOOKS_DIR=str(broken_playbooks)), cwd)

    assert result.returncode == 1
    assert broken_playbook_problems(broken_playbooks)[0] in result.stdout.splitlines()


# Regexes Python's re accepts but Alertmanager (Go, RE2) rejects, one per matcher.
REJECTED_REGEXES = ["(a)\\1", "(?=x)", "(?<=x)y", "a++", "\\Z"]
REGEX_PLAYBOOK = """\
name: regexes
severities:
  - {name: sev1, description: Critical, update_every: 30m, ack_timeout: 5m}
routes:
  - name: picky
    matchers: [MATCHERS]
    auto_declare: {matchers: ['env=~"prod(?!uction)"']}
    severity: {default: sev1}
  - name: catch-all
    severity: {default: sev1}
"""


def test_check_reports_each_regex_alertmanager_rejects_by_file_and_field(
        env: dict[str, str], cwd: Path, tmp_path: Path) -> None:
    directory = tmp_path / "regexes"
    directory.mkdir()
    matchers = ", ".join(f"'job=~\"{pattern}\"'" for pattern in REJECTED_REGEXES)
    (directory / "regexes.yml").write_text(REGEX_PLAYBOOK.replace("MATCHERS", matchers))

    result = run_cli(["check", str(directory)], env, cwd)

    file = directory / "regexes.yml"
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.splitlines() == [
        f'{file}: routes[0].matchers[0]: invalid regular expression "(a)\\\\1": invalid escape sequence: \\1',
        f'{file}: routes[0].matchers[1]: invalid regular expression "(?=x)": invalid perl operator: (?=',
        f'{file}: routes[0].matchers[2]: invalid regular expression "(?<=x)y": invalid perl operator: (?<=',
        f'{file}: routes[0].matchers[3]: invalid regular expression "a++": bad repetition operator: ++',
        f'{file}: routes[0].matchers[4]: invalid regular expression "\\\\Z": invalid escape sequence: \\Z',
        (f'{file}: routes[0].auto_declare.matchers[0]: invalid regular expression "prod(?!uction)": '
         "invalid perl operator: (?!"),
    ]
    assert f"6 problem(s) in {directory}" in result.stderr
    assert "Traceback" not in result.stderr


# --- simulate --------------------------------------------------------------------------

def on_call_during(run: Callable[[], subprocess.CompletedProcess[str]]) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run the CLI and say who the shipped rotation has on call while it ran (a handoff may fall inside)."""
    rotation = load_playbooks(PLAYBOOKS).playbooks[0].rotations["primary"]
    before = datetime.now(UTC)
    result = run()
    return result, {commander_at(rotation, before), commander_at(rotation, datetime.now(UTC))}


def test_simulate_prints_route_decision_severity_commander_channel_and_links(env: dict[str, str], cwd: Path) -> None:
    result, on_call = on_call_during(lambda: run_cli(["simulate", str(FIRING)], env, cwd))

    assert result.returncode == 0, result.stderr
    fields = dict(line.split(":", 1) for line in result.stdout.splitlines() if not line.startswith(" "))
    assert fields["route"].strip() == "default/critical"
    assert fields["decision"].strip().split()[0] == "open"
    assert fields["severity"].strip() == "sev1"
    assert fields["commander"].strip().split()[0] in on_call
    assert CHANNEL.fullmatch(fields["channel"].strip().split()[0])
    assert f"  [runbook] Runbook: {RUNBOOK}" in result.stdout.splitlines()


def test_simulate_json_output_carries_the_same_decision(env: dict[str, str], cwd: Path) -> None:
    result, on_call = on_call_during(lambda: run_cli(["simulate", "--json", str(FIRING)], env, cwd))

    assert result.returncode == 0, result.stderr
    decision = json.loads(result.stdout)
    assert (decision["route"], decision["decision"], decision["severity"]) == ("default/critical", "open", "sev1")
    assert decision["commander"] in on_call
    assert CHANNEL.fullmatch(decision["channel"])
    assert {"kind": "runbook", "title": "Runbook", "url": RUNBOOK} in decision["links"]


def test_simulate_reads_the_payload_from_stdin(env: dict[str, str], cwd: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "bot.cli", "simulate", "--json", "-"], input=FIRING.read_text(),
                            env=env, cwd=cwd, capture_output=True, text=True, timeout=30, check=False)

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["decision"] == "open"


def test_simulate_writes_nothing(env: dict[str, str], cwd: Path) -> None:
    for args in (["simulate", str(FIRING)], ["simulate", "--json", str(FIRING)]):
        assert run_cli(args, env, cwd).returncode == 0

    assert not database_file(env).exists()
    assert list(cwd.iterdir()) == []


def test_simulate_names_the_bad_field_of_a_payload_without_a_traceback(
        env: dict[str, str], cwd: Path, tmp_path: Path) -> None:
    payload = tmp_path / "bad.json"
    payload.write_bytes(FIRING.read_bytes().replace(
        b'"startsAt": "2026-11-22T22:57:48.907557036Z"', b'"startsAt": "soon"', 1))

    result = run_cli(["simulate", str(payload)], env, cwd)

    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith(f"{payload}: alerts[0].startsAt: must be an RFC 3339 timestamp")
    assert len(result.stderr.splitlines()) == 1
    assert "Traceback" not in result.stderr
    assert not database_file(env).exists()


def test_simulate_of_a_missing_file_says_it_cannot_read_it(env: dict[str, str], cwd: Path, tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"

    result = run_cli(["simulate", str(missing)], env, cwd)

    assert result.returncode == 1
    assert result.stderr == f"cannot read {missing}: No such file or directory\n"


# --- db upgrade ------------------------------------------------------------------------

def test_db_upgrade_creates_a_fresh_sqlite_database_and_is_idempotent(env: dict[str, str], cwd: Path) -> None:
    path = database_file(env)
    assert not path.exists()

    first = run_cli(["db", "upgrade"], env, cwd)
    second = run_cli(["db", "upgrade"], env, cwd)

    assert first.returncode == 0, first.stderr
    assert path.exists()
    assert first.stdout == f"sqlite ({path}): upgraded empty -> {head_revision()}\n"
    assert second.returncode == 0, second.stderr
    assert second.stdout == f"sqlite ({path}): already at {head_revision()}\n"


# --- serve -----------------------------------------------------------------------------

@pytest.fixture
def empty_postgres_url() -> Iterator[str]:
    """A new PostgreSQL database with no schema, reached with a password that trust auth ignores,
    so the test can prove the password never reaches the output."""
    url = asyncio.run(databases.create_empty_postgres_database())
    if url is None:
        unavailable(f"PostgreSQL is not reachable at {databases.POSTGRES_ADMIN_URL}")
        raise AssertionError("unreachable")
    parsed = make_url(url)
    if not parsed.password:
        parsed = parsed.set(password="pw-never-logged-3c9a")
    try:
        yield parsed.render_as_string(hide_password=False)
    finally:
        asyncio.run(databases.drop_postgres_database(url))


def test_serve_on_postgresql_needs_db_upgrade_first_then_starts_and_stops_cleanly_on_sigterm(
        empty_postgres_url: str, tmp_path: Path, cwd: Path) -> None:
    slack = "http://127.0.0.1:9/slack-emulator/api/"
    env = cli_env(tmp_path, DATABASE_URL=empty_postgres_url, LOG_FORMAT="json", SLACK_API_URL=slack,
                  ALERTMANAGER_WEBHOOK_TOKEN="token-for-serve-test")
    password = make_url(empty_postgres_url).password
    assert password

    # If it started anyway it would serve forever and run_cli's timeout would fail the test.
    refused = run_cli(["serve"], {**env, "HOST": "127.0.0.1", "PORT": str(free_port())}, cwd)
    assert refused.returncode == 1
    assert "refusing to start" in refused.stderr and "run `incident-bot db upgrade`" in refused.stderr
    assert "Traceback" not in refused.stderr and password not in refused.stdout + refused.stderr

    upgraded = run_cli(["db", "upgrade"], env, cwd)
    assert upgraded.returncode == 0, upgraded.stderr
    assert upgraded.stdout.endswith(f": upgraded empty -> {head_revision()}\n")

    with serving(env, cwd) as served:
        assert httpx.get(f"{served.url}/readyz", timeout=5).json()["checks"]["migrations"] == "ok"
        code = served.stop(timeout=15)

    assert code == 0, served.stderr
    output = served.stdout + served.stderr
    assert password not in output and "Traceback" not in output
    log_lines = [json.loads(line) for line in served.stderr.splitlines() if line.startswith("{")]
    [started] = [line for line in log_lines if line.get("event") == "starting incident-bot"]
    assert started["version"] == __version__
    where = make_url(empty_postgres_url)
    assert started["database"] == f"postgresql ({where.host}:{where.port or 5432}/{where.database})"
    assert started["playbooks"] == len(load_playbooks(PLAYBOOKS).playbooks)
    assert started["slack_api"] == slack


def test_serve_upgrades_a_fresh_sqlite_database_by_itself(env: dict[str, str], cwd: Path) -> None:
    with serving(env, cwd) as served:
        ready = httpx.get(f"{served.url}/readyz", timeout=5)
        code = served.stop()

    assert ready.status_code == 200, ready.text
    assert code == 0, served.stderr


def test_serve_with_invalid_playbooks_refuses_to_start_and_lists_the_problems(
        tmp_path: Path, cwd: Path, broken_playbooks: Path) -> None:
    result = run_cli(["serve"], cli_env(tmp_path, PLAYBOOKS_DIR=str(broken_playbooks), PORT="0"), cwd)

    assert result.returncode == 1
    lines = result.stderr.splitlines()
    for expected in broken_playbook_problems(broken_playbooks):
        assert expected in lines
    assert_unknown_key_reported(broken_playbooks, lines)
    assert "refusing to start" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(("port", "complaint"), [("notanumber", "integer"), ("70000", "65535")])
def test_serve_with_a_bad_port_names_port_without_a_traceback(
        tmp_path: Path, cwd: Path, port: str, complaint: str) -> None:
    result = run_cli(["serve"], cli_env(tmp_path, PORT=port), cwd)

    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    [line] = [line for line in result.stderr.splitlines() if "PORT" in line]
    assert line.strip().startswith("PORT: ") and complaint in line
    assert not database_file(cli_env(tmp_path)).exists()
