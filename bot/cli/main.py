"""The ``incident-bot`` command line."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from bot import __version__
from bot.settings import Settings

if TYPE_CHECKING:
    from bot.playbook.problems import PlaybookProblem

DEMO_WEB_PORT = 8080


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        lines = [f"  {'.'.join(str(p) for p in err['loc']).upper()}: {err['msg']}" for err in exc.errors()]
        raise SystemExit("invalid environment:\n" + "\n".join(lines)) from None


def cmd_serve(args: argparse.Namespace) -> int:
    import gc

    # Start-up makes some 150,000 objects that live as long as the process; collecting while
    # they are made was ~15% of start-up. serve's start-up hook freezes them and collects again.
    gc.disable()
    from bot.runtime.serve import serve

    return serve(_settings())


def _port(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number from 1 to 65535, not {text!r}")
    return int(text)


def cmd_demo(args: argparse.Namespace) -> int:
    from bot.demo import run_demo

    if args.port is not None and not args.web:
        print("--port: only with --web (the port of the demo's web workspace)", file=sys.stderr)
        return 2
    return run_demo(sys.stdout, directory=Path(args.dir) if args.dir else None,
                    web_port=(args.port or DEMO_WEB_PORT) if args.web else None)


def cmd_check(args: argparse.Namespace) -> int:
    from bot.playbook import check_playbooks

    directory = Path(args.directory) if args.directory else _settings().playbooks_dir
    if args.slack:
        from bot.cli.slack_check import check_with_slack

        return check_with_slack(directory, _settings())
    problems = check_playbooks(directory) + _workflow_problems(directory)
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} problem(s) in {directory}", file=sys.stderr)
        return 1
    from bot.cli.tracker_check import tracker_warnings
    from bot.playbook import load_playbooks

    for warning in tracker_warnings(load_playbooks(directory), _settings()):
        print(warning, file=sys.stderr)
    files = sorted(p.name for p in directory.iterdir() if p.suffix in (".yml", ".yaml"))
    print(f"ok: {len(files)} playbook file(s) in {directory}: {', '.join(files)}")
    return 0


def _workflow_problems(directory: Path) -> list[PlaybookProblem]:
    """What the playbooks' workflows name that this environment lacks (secrets, Grafana)."""
    import os

    from bot.playbook.loader import load_with_problems
    from bot.playbook.problems import PlaybookProblem
    from bot.playbook.workflows import workflow_problems

    playbooks, _ = load_with_problems(directory)
    return [PlaybookProblem(str(path), field, message)
            for playbook, path in zip(playbooks.playbooks, playbooks.files, strict=True)
            for field, message in workflow_problems(playbook.severity_names, playbook.workflows, os.environ)]


def cmd_simulate(args: argparse.Namespace) -> int:
    from bot.cli.simulate import simulate

    return simulate(Path(args.payload), _settings(), as_json=args.json)


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from storage.database import Database, describe_url
    from storage.errors import StorageError
    from storage.migrate import upgrade

    settings = _settings()

    async def run() -> tuple[str | None, str]:
        db = Database(settings.database_url)
        try:
            return await upgrade(db)
        finally:
            await db.dispose()

    try:
        before, after = asyncio.run(run())
    except StorageError as exc:
        print(f"cannot upgrade {describe_url(settings.database_url)}: {exc}", file=sys.stderr)
        return 1
    where = describe_url(settings.database_url)
    print(f"{where}: already at {after}" if before == after else f"{where}: upgraded {before or 'empty'} -> {after}")
    return 0


def cmd_postmortem(args: argparse.Namespace) -> int:
    from bot.incident.drafts import PostmortemError, postmortem_markdown
    from bot.playbook import PlaybookError, load_playbooks
    from storage import queries
    from storage.database import Database
    from storage.errors import StorageError

    settings = _settings()
    try:
        playbooks = load_playbooks(settings.playbooks_dir)
    except PlaybookError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 1

    async def run() -> str | None:
        db = Database(settings.database_url)
        try:
            target = args.incident
            incident_id = (int(target) if target.isdigit()
                           else await db.read(queries.incident_id_for_channel_id_or_name, target))
            if incident_id is None:
                return None
            return await postmortem_markdown(db, lambda: playbooks, settings.playbooks_dir, incident_id)
        finally:
            await db.dispose()

    try:
        text = asyncio.run(run())
    except (StorageError, PostmortemError) as exc:
        print(f"cannot render the postmortem: {exc}", file=sys.stderr)
        return 1
    if text is None:
        print(f"no incident {args.incident} (give an incident number or its channel, e.g. #inc-...)", file=sys.stderr)
        return 1
    sys.stdout.write(text)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from bot.clock import utcnow
    from bot.domain.analytics import FollowUpFacts, PostmortemFacts, aftercare_lines, report_text
    from bot.playbook import parse_duration
    from storage import queries
    from storage.database import Database
    from storage.errors import StorageError

    try:
        window = parse_duration(args.since)
    except ValueError as exc:
        print(f"--since: {exc}", file=sys.stderr)
        return 2
    settings = _settings()

    async def run() -> str:
        db = Database(settings.database_url)
        try:
            since = utcnow() - window
            timings = await db.read(queries.incident_timings, since)
            noisiest = await db.read(queries.alert_counts_by_name, since)
            started, added = await db.read(queries.aftercare_since, since)
            aftercare = aftercare_lines([PostmortemFacts(*row) for row in started],
                                        [FollowUpFacts(*row) for row in added], utcnow())
            return "\n".join([report_text(timings, noisiest, args.since), *aftercare])
        finally:
            await db.dispose()

    try:
        print(asyncio.run(run()))
    except StorageError as exc:
        print(f"cannot read the database: {exc}", file=sys.stderr)
        return 1
    return 0


def cmd_followups(args: argparse.Namespace) -> int:
    from bot.cli.followups import followups

    return followups(_settings(), overdue=args.overdue)


ENVIRONMENT_HELP = """\
configuration comes from the environment:
  DATABASE_URL          sqlite+aiosqlite:///incident-bot.db (default) or postgresql+asyncpg://...
  PLAYBOOKS_DIR         directory of playbook files (default: playbooks)
  HOST, PORT            where serve listens (default 0.0.0.0, 8080)
  SLACK_BOT_TOKEN       xoxb-... token; without it incidents are recorded and Slack work waits
                        (check --slack needs it)
  SLACK_SIGNING_SECRET  verifies requests to /slack/events
  SLACK_APP_TOKEN       xapp-... token: Socket Mode instead of HTTP (optional)
  SLACK_API_URL         Web API base for serve and check --slack (default https://slack.com/api/)
  ALERTMANAGER_WEBHOOK_TOKEN
                        bearer token Alertmanager must present on POST /alertmanager, or
  ALERTMANAGER_WEBHOOK_USER, ALERTMANAGER_WEBHOOK_PASSWORD for basic auth
  ALERTMANAGER_URL      Alertmanager's base URL, for silences and reconciliation (optional)
  PROMETHEUS_URL        Prometheus's base URL, for exemplar trace links (optional)
  API_TOKEN             bearer token for the read-only /incidents API
  SLASH_COMMAND         default /incident
  PUBLIC_URL            where people reach the bot; issues link back to it (default http://localhost:8080)
  PAGERDUTY_EVENTS_URL  PagerDuty Events API v2 (default https://events.pagerduty.com/v2/enqueue)
  GRAFANA_URL, GRAFANA_TOKEN
                        Grafana and a service account token, for workflow annotations
  GITHUB_TOKEN, GITHUB_API_URL
                        follow-ups as GitHub issues (API default https://api.github.com)
  JIRA_URL, JIRA_USER, JIRA_API_TOKEN
                        follow-ups as Jira Cloud issues (JIRA_USER: the account's e-mail)
  TRACKER_SYNC_SECONDS  how often closed issues mark follow-ups done (default 300)
  LOG_LEVEL, LOG_FORMAT DEBUG|INFO|WARNING|ERROR, json|console
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="incident-bot",
        description="Incident-command bot for Slack, driven by Prometheus Alertmanager. "
        "New here? Run `incident-bot demo`.",
        epilog=ENVIRONMENT_HELP, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"incident-bot {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser(
        "demo", help="watch one incident from first alert to postmortem draft, offline, in seconds",
        description="Run the real bot on a SQLite file against a console Slack that prints what the workspace "
        "would show: an alert group opens an incident, a second alert raises its severity, the commander "
        "acknowledges, a stakeholder update falls due and is posted, the alerts and the incident resolve, "
        "and the postmortem draft is written to a file. No tokens, no network; the clock skips quiet minutes.")
    demo.add_argument("--dir", help="directory for the demo's database and postmortem draft "
                      "(default: a new temporary directory)")
    demo.add_argument("--web", action="store_true",
                      help="then keep the bot up with its web workspace on http://127.0.0.1:8080 (or --port) for the "
                      "demo's incident, signing in through a local stand-in for Sign in with Slack, until Ctrl-C")
    demo.add_argument("--port", type=_port, help=f"the web workspace's port with --web (default {DEMO_WEB_PORT})")
    demo.set_defaults(func=cmd_demo)

    serve = commands.add_parser("serve", help="run the bot: webhook receiver, Slack endpoint, API and metrics",
                                description="Serve HTTP on HOST:PORT (default 0.0.0.0:8080).")
    serve.set_defaults(func=cmd_serve)

    check = commands.add_parser(
        "check", help="validate the playbooks (--slack: and that Slack has what they name); prints file: field: "
        "problem, exits 1 on any",
        description="Validate every playbook file in PLAYBOOKS_DIR (or DIRECTORY). With --slack, also ask Slack "
        "(SLACK_BOT_TOKEN, at SLACK_API_URL) that the stakeholder and triage channels exist and the bot can see "
        "them, and that the users of rotations, commanders and responders exist and are active. Exits 1 on any "
        "problem, 2 when --slack has no SLACK_BOT_TOKEN.")
    check.add_argument("directory", nargs="?", help="directory of playbook files (default: $PLAYBOOKS_DIR)")
    check.add_argument("--slack", action="store_true",
                       help="also check the channels and users the playbooks name against Slack")
    check.set_defaults(func=cmd_check)

    simulate = commands.add_parser(
        "simulate", help="show what the bot would decide for a webhook payload, without side effects",
        description="Print route, decision, severity, commander, channel name and links for an "
        "Alertmanager webhook payload, as if its group were new. Writes nothing.")
    simulate.add_argument("payload", help="path to an Alertmanager webhook JSON body ('-' for stdin)")
    simulate.add_argument("--json", action="store_true", help="print the decision as JSON")
    simulate.set_defaults(func=cmd_simulate)

    postmortem = commands.add_parser(
        "postmortem", help="print an incident's postmortem draft (Markdown)",
        description="Render the postmortem draft of an incident from its stored timeline.")
    postmortem.add_argument("incident", help="incident number, or its Slack channel id or name")
    postmortem.set_defaults(func=cmd_postmortem)

    report = commands.add_parser("report", help="incident counts, MTTA/MTTR percentiles and the noisiest alerts",
                                 description="Summarise incidents opened within a window: counts by severity and "
                                 "route, time to acknowledge and to resolve (p50, p90) and the noisiest alert names.")
    report.add_argument("--since", default="30d", help="window, e.g. 7d, 30d, 12h (default 30d)")
    report.set_defaults(func=cmd_report)

    followups = commands.add_parser(
        "followups", help="list open follow-ups across incidents (--overdue: only those past due)",
        description="Print the open follow-ups of every incident (oldest due first): incident, number, status, "
        "owner, due date, text and tracker issue. With --overdue, only open ones past their due time.")
    followups.add_argument("--overdue", action="store_true", help="only follow-ups past their due time")
    followups.set_defaults(func=cmd_followups)

    db = commands.add_parser("db", help="database schema commands")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_upgrade = db_commands.add_parser("upgrade", help="apply schema migrations to DATABASE_URL",
                                        description="Bring the database schema to the version this bot needs.")
    db_upgrade.set_defaults(func=cmd_db_upgrade)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
