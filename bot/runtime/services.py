"""The composition root: every long-lived part of the bot is built here, once, and torn
down here in the reverse order.

Shutdown, in order: the scheduler lets a job in flight finish, and the timer loop its pass; Socket Mode disconnects;
the outbox worker finishes what it holds within its grace and releases the rest; the
Slack gateway and the Alertmanager and Prometheus clients close; the database closes.
Claiming new outbox work stops earlier, as soon as the server stops listening (see
``Services.stop_claiming``).
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import TYPE_CHECKING

import structlog
from apscheduler.schedulers.base import BaseScheduler

from bot.adapters.alertmanager import AlertmanagerClient
from bot.adapters.github import GitHubClient
from bot.adapters.grafana import GrafanaClient
from bot.adapters.jira import JiraClient
from bot.adapters.pagerduty import PagerDutyClient
from bot.adapters.prometheus import PrometheusClient
from bot.adapters.signed_webhook import WebhookSender
from bot.clock import Clock
from bot.delivery.dispatch import ActionDispatcher
from bot.delivery.slack_actions import SlackActions
from bot.delivery.tracker_export import TrackerExport
from bot.delivery.worker import OutboxWorker
from bot.delivery.workflow_actions import WorkflowActions
from bot.incident.capture import TimelineCapture
from bot.incident.due_timers import TimerFirer
from bot.incident.ingest import Ingestor
from bot.incident.reconcile import Reconciler
from bot.incident.tracker_sync import TrackerSync
from bot.observability.metrics import Metrics
from bot.playbook import PlaybookSet
from bot.runtime.commits import CommitNotifier
from bot.runtime.scheduler import (
    Job,
    purge_old_records,
    reconcile_with_alertmanager,
    running_scheduler,
    sync_tracker_issues,
)
from bot.runtime.slack_events import LazyBolt
from bot.runtime.timer_loop import running_timers
from bot.runtime.trackers import tracker_clients
from bot.runtime.workspace import build_workspace, workspace_problem
from bot.settings import Settings
from bot.slack.gateway import SlackGateway
from bot.slack.lookups import SlackLookups
from bot.web.workspace import Workspace
from storage.database import Database, describe_url
from storage.migrate import ensure_current, upgrade

if TYPE_CHECKING:
    from slack_bolt.async_app import AsyncApp

    from bot.incident.command_service import CommandService
    from bot.incident.timeline_editor import TimelineEditor

# What people's commands and timeline edits go through, built when first asked for.
Commanding = Callable[[], tuple["CommandService", "TimelineEditor"]]

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Services:
    db: Database
    commits: CommitNotifier
    ingestor: Ingestor
    scheduler: BaseScheduler
    alertmanager: AlertmanagerClient | None = None
    prometheus: PrometheusClient | None = None
    gateway: SlackGateway | None = None
    worker: OutboxWorker | None = None
    bolt: LazyBolt | None = None
    github: GitHubClient | None = None
    jira: JiraClient | None = None
    workspace: Workspace | None = None
    workspace_off: str | None = None  # why the web workspace is off

    def stop_claiming(self) -> None:
        if self.worker is not None:
            self.worker.stop_claiming()


@asynccontextmanager
async def running_services(settings: Settings, playbooks: PlaybookSet, clock: Clock,
                           metrics: Metrics) -> AsyncIterator[Services]:
    def current_playbooks() -> PlaybookSet:
        return playbooks

    async with AsyncExitStack() as stack:
        db = Database(settings.database_url)
        stack.push_async_callback(db.dispose)
        await prepare_schema(db)
        commits = CommitNotifier()
        alertmanager = prometheus = None
        if settings.alertmanager_url:
            alertmanager = await stack.enter_async_context(AlertmanagerClient(settings.alertmanager_url))
        if settings.prometheus_url:
            prometheus = await stack.enter_async_context(PrometheusClient(settings.prometheus_url))
        ingestor = Ingestor(db, current_playbooks, clock, on_commit=commits.notify)
        github, jira = await tracker_clients(stack, settings, playbooks)

        gateway = worker = bolt = lookups = None
        if settings.slack_bot_token is None:
            log.warning("SLACK_BOT_TOKEN is not set: incidents are recorded, Slack actions wait in the outbox")
        else:
            token = settings.slack_bot_token.get_secret_value()
            gateway = SlackGateway(token, settings.slack_api_url, metrics,
                                   rate_limit_scale=settings.slack_rate_limit_scale)
            stack.push_async_callback(gateway.close)
            lookups = SlackLookups(gateway)
            actions = SlackActions(db, gateway, current_playbooks, clock, prometheus, settings.playbooks_dir,
                                   settings.public_url)
            workflows = await _workflow_actions(stack, settings, db, clock, gateway)
            exports = TrackerExport(db, clock, settings.public_url, github, jira)
            dispatcher = ActionDispatcher(actions.handlers, workflows.handlers, exports.handlers)
            worker = OutboxWorker(db, dispatcher.run, clock, metrics, concurrency=settings.outbox_concurrency,
                                  lease=timedelta(seconds=settings.outbox_lease_seconds), prefetch=actions.prefetch)
            commits.subscribe(worker.notify)
            worker.start()
            stack.push_async_callback(worker.stop, grace=settings.outbox_shutdown_grace_seconds)
        commanding = _commanding(settings, db, current_playbooks, clock, commits, lookups, alertmanager)
        if gateway is not None and lookups is not None:
            assert settings.slack_bot_token is not None
            if settings.slack_signing_secret is None:
                log.warning("SLACK_SIGNING_SECRET is not set: /slack/events refuses every request")
            else:
                bolt = LazyBolt(_bolt_builder(settings, db, current_playbooks, clock, commits, gateway, lookups,
                                              commanding))
                if settings.slack_app_token is not None:
                    from bot.runtime.bolt_app import socket_mode

                    await stack.enter_async_context(socket_mode(bolt.app(),
                                                                settings.slack_app_token.get_secret_value()))
        workspace = None
        if (off := workspace_problem(settings)) is not None:
            log.warning(off)
        else:
            workspace = build_workspace(settings, db, current_playbooks, clock, commits.notify, *commanding(),
                                        lookups)
            commits.subscribe(workspace.wakeups.notify)  # live timelines look as soon as this process commits

        firer = TimerFirer(db, clock, metrics, on_commit=commits.notify, command=settings.slash_command)
        await stack.enter_async_context(running_timers(firer, db, clock, settings.scheduler_tick_seconds))
        jobs = _scheduled_jobs(settings, db, clock, commits, alertmanager)
        jobs.append(sync_tracker_issues(TrackerSync(db, clock, metrics, github, jira, commits.notify),
                                        settings.tracker_sync_seconds))
        scheduler = await stack.enter_async_context(running_scheduler(jobs))
        yield Services(db, commits, ingestor, scheduler, alertmanager, prometheus, gateway, worker, bolt, github, jira,
                       workspace, off)


def _commanding(settings: Settings, db: Database, playbooks: Callable[[], PlaybookSet], clock: Clock,
                commits: CommitNotifier, lookups: SlackLookups | None,
                alertmanager: AlertmanagerClient | None) -> Commanding:
    """The command service and the timeline editor, made once, by the first Slack request (the
    Bolt app) or at start for the web workspace or Socket Mode: a bot with neither serves
    webhooks, timers and the outbox without them (their modules: some 7 ms of imports)."""

    @cache
    def build() -> tuple[CommandService, TimelineEditor]:
        from bot.incident.command_service import CommandService
        from bot.incident.timeline_editor import TimelineEditor

        members = lookups.group_members if lookups else None
        service = CommandService(db, playbooks, clock, commits.notify, settings.slash_command, members, alertmanager,
                                 lookups.user_exists if lookups else None)
        return service, TimelineEditor(db, playbooks, clock, commits.notify, members)

    return build


def _bolt_builder(settings: Settings, db: Database, playbooks: Callable[[], PlaybookSet], clock: Clock,
                  commits: CommitNotifier, gateway: SlackGateway, lookups: SlackLookups,
                  commanding: Commanding) -> Callable[[], AsyncApp]:
    assert settings.slack_bot_token is not None and settings.slack_signing_secret is not None
    token, secret = settings.slack_bot_token.get_secret_value(), settings.slack_signing_secret.get_secret_value()

    def build() -> AsyncApp:
        from bot.runtime.bolt_app import build_bolt

        capture = TimelineCapture(db, playbooks, clock, lookups.fetch_message, commits.notify)
        service, editor = commanding()
        return build_bolt(token, secret, settings.slack_api_url, gateway, service, capture, settings.slash_command,
                          editor)

    return build


async def _workflow_actions(stack: AsyncExitStack, settings: Settings, db: Database, clock: Clock,
                            gateway: SlackGateway) -> WorkflowActions:
    """The clients workflows send with: PagerDuty and webhooks always (a playbook names the
    secrets), Grafana when GRAFANA_URL and GRAFANA_TOKEN are set."""
    pagerduty = await stack.enter_async_context(PagerDutyClient(settings.pagerduty_events_url))
    webhooks = WebhookSender()
    stack.push_async_callback(webhooks.aclose)
    grafana = None
    if settings.grafana_url and settings.grafana_token is not None:
        grafana = await stack.enter_async_context(
            GrafanaClient(settings.grafana_url, settings.grafana_token.get_secret_value()))
    return WorkflowActions(db, clock, settings.public_url, pagerduty=pagerduty, webhooks=webhooks, grafana=grafana,
                           gateway=gateway, group_members=SlackLookups(gateway).group_members)


def _scheduled_jobs(settings: Settings, db: Database, clock: Clock, commits: CommitNotifier,
                    alertmanager: AlertmanagerClient | None) -> list[Job]:
    jobs = [
        purge_old_records(db, clock, timedelta(days=settings.delivery_retention_days),
                          timedelta(days=settings.incident_retention_days)),
    ]
    if alertmanager is not None:
        reconciler = Reconciler(db, alertmanager, clock, on_commit=commits.notify)
        jobs.append(reconcile_with_alertmanager(reconciler, settings.reconcile_seconds))
    return jobs


async def prepare_schema(db: Database) -> None:
    """SQLite (one process, embedded) is upgraded in place; PostgreSQL must be upgraded by
    an operator with ``incident-bot db upgrade`` so replicas never race a migration."""
    if db.is_sqlite:
        before, after = await upgrade(db)
        if before != after:
            log.info("database schema upgraded", database=describe_url(db.url), revision=after)
            gc.collect()  # Alembic's garbage: serve keeps collection off until it is ready

        return
    await ensure_current(db)
