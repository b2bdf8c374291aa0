"""Incident analytics: MTTA/MTTR on /metrics and `incident-bot report`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from prometheus_client.parser import text_string_to_metric_families

from bot.domain.analytics import histogram, human, percentile, report_text
from storage.alerting import update_incident
from storage.database import Database
from tests.conftest import REPO
from tests.support import rows
from tests.support.bot import WEBHOOK_TOKEN, bot_settings, running_bot
from tests.support.cli import cli_env, run_cli
from tests.support.payloads import captured

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def test_percentiles_and_histogram_buckets() -> None:
    values = [30.0, 120.0, 400.0, 4000.0]
    assert percentile(values, 50) == 120.0 and percentile(values, 90) == 4000.0 and percentile([], 50) is None
    hist = histogram(values)
    assert hist.buckets[0] == (60.0, 1) and hist.buckets[1] == (300.0, 2) and hist.buckets[-1][1] == 4
    assert hist.total == 4550.0
    assert human(3725) == "1h 02m" and human(95) == "1m 35s" and human(90000) == "1d 1h"


def test_report_counts_by_severity_and_route_with_percentiles_and_noisiest_alerts() -> None:
    timings = [("sev1", "default/critical", T0, T0 + timedelta(minutes=2), T0 + timedelta(hours=1)),
               ("sev1", "default/critical", T0, T0 + timedelta(minutes=4), None),
               ("sev3", "default/catch-all", T0, None, T0 + timedelta(minutes=30))]
    text = report_text(timings, [("HighErrorRate", 12), ("DiskFull", 3)], "30d")
    assert "Incidents opened in the last 30d: 3" in text
    assert "  sev1             2" in text and "  default/critical                   2" in text
    assert "sev1             2m 00s     4m 00s     1h 00m     1h 00m" in text
    assert "  HighErrorRate                                12" in text


async def test_metrics_expose_time_to_acknowledge_and_resolve_by_severity(database_url: str, db: Database) -> None:
    async with running_bot(bot_settings(database_url, REPO / "playbooks")) as url, httpx.AsyncClient() as client:
        await client.post(f"{url}/alertmanager", content=captured("1-firing"),
                          headers={"Authorization": f"Bearer {WEBHOOK_TOKEN}", "Content-Type": "application/json"})
        [incident] = await rows.incidents(db)
        await db.write(update_incident, incident.id, acknowledged_at=incident.opened_at + timedelta(minutes=3),
                       resolved_at=incident.opened_at + timedelta(minutes=45), status="resolved")
        text = (await client.get(f"{url}/metrics")).text
    families = {f.name: f for f in text_string_to_metric_families(text)}
    ack = {(s.name, s.labels.get("le")): s.value for s in families["incident_bot_time_to_acknowledge_seconds"].samples
           if s.labels.get("severity") == "sev1"}
    assert ack[("incident_bot_time_to_acknowledge_seconds_bucket", "60")] == 0
    assert ack[("incident_bot_time_to_acknowledge_seconds_bucket", "300")] == 1
    assert ack[("incident_bot_time_to_acknowledge_seconds_sum", None)] == 180
    resolve = {(s.name, s.labels.get("le")): s.value for s in families["incident_bot_time_to_resolve_seconds"].samples}
    assert resolve[("incident_bot_time_to_resolve_seconds_bucket", "1800")] == 0
    assert resolve[("incident_bot_time_to_resolve_seconds_bucket", "3600")] == 1


def test_report_command_prints_the_summary(tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = cli_env(tmp_path)
    assert run_cli(["db", "upgrade"], env, tmp_path).returncode == 0
    result = run_cli(["report", "--since", "7d"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Incidents opened in the last 7d: 0")
    bad = run_cli(["report", "--since", "soon"], env, tmp_path)
    assert bad.returncode == 2 and bad.stderr.startswith("--since: expected a duration")


def test_the_report_counts_postmortems_on_time_and_follow_ups_closed() -> None:
    from bot.domain.analytics import FollowUpFacts, PostmortemFacts, aftercare_lines
    now = datetime(2024, 6, 1, tzinfo=UTC)
    day = timedelta(days=1)
    lines = aftercare_lines(
        [PostmortemFacts("published", now - 5 * day, now - 6 * day),  # on time
         PostmortemFacts("published", now - 5 * day, now - 4 * day),  # late
         PostmortemFacts("published", None, now - day),  # no due time: on time
         PostmortemFacts("draft", now - day, None),  # overdue
         PostmortemFacts("in_review", now + day, None)],  # not yet due
        [FollowUpFacts("done", None), FollowUpFacts("done", now - day), FollowUpFacts("dropped", None),
         FollowUpFacts("open", now - day), FollowUpFacts("open", now + day)], now)
    assert lines == ["", "Postmortems started: 5",
                     "  published on time 2, late 1 (67% on time); overdue 1; not yet due 1",
                     "Follow-ups added: 5",
                     "  done 2, dropped 1 (3 closed) (40% done); open 2, of which overdue 1"]
