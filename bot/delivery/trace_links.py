"""The trace-links message: trace ids from the alerts' labels, and Prometheus exemplars of
their expressions around their start, as links from the route's ``trace_url``. It runs on
its own ordering key, so a slow Prometheus never holds up the incident's other messages."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bot.adapters import prometheus as traces
from bot.delivery.incident_reads import IncidentReads
from bot.delivery.outcome import Done, NotReady
from bot.delivery.posting import Poster
from bot.delivery.trace_notice import no_trace_links_text
from bot.domain.links import render_trace_link
from bot.playbook import PlaybookSet
from bot.slack import blocks
from storage import outbox
from storage.database import Database
from storage.outbox import ClaimedAction


class TraceLinks:
    def __init__(self, db: Database, reads: IncidentReads, poster: Poster, playbooks: Callable[[], PlaybookSet],
                 prometheus: traces.PrometheusClient | None) -> None:
        self._db = db
        self._reads = reads
        self._poster = poster
        self._playbooks = playbooks
        self._prometheus = prometheus

    async def __call__(self, action: ClaimedAction) -> Done:
        incident = await self._reads.incident(action)
        if not incident.channel_id:
            raise NotReady(action.kind, "waiting for the incident channel")
        match = next((m for m in self._playbooks().routes if m.key == (incident.playbook, incident.route)), None)
        if match is None or match.route.trace_url is None:
            return Done({"skipped": "the route has no trace_url"})
        trace_ids, problems = await self._trace_ids(action)
        links = [link for t in trace_ids[:traces.MAX_TRACES * 2]
                 if (link := render_trace_link(match.route, t)) is not None]
        if links:
            text = "*Traces*\n" + "\n".join(f"• <{link.url}|{blocks.escape(link.title)}>" for link in links)
        else:
            async with self._db.reading() as session:  # an earlier trace-links action of this incident posted
                posted = await session.run_sync(outbox.any_posted, action.ordering_key, action.kind)
            notice = no_trace_links_text(posted, prometheus_configured=self._prometheus is not None, problems=problems)
            if notice is None:
                return Done({"skipped": "no trace links, and the channel already has its trace message"})
            text = notice
        ts = await self._poster.post_once(action, incident.channel_id, text)
        return Done({"ts": ts, "traces": trace_ids})

    async def _trace_ids(self, action: ClaimedAction) -> tuple[list[str], list[str]]:
        """Trace ids in first-seen order, and what went wrong asking Prometheus."""
        trace_ids: list[str] = []
        problems: list[str] = []
        for alert in action.payload.get("alerts", []):
            trace_ids += [t for t in traces.trace_ids_in(alert.get("labels", {}), alert.get("annotations", {}))
                          if t not in trace_ids]
            expression = traces.expression_from(alert.get("generator_url"))
            if expression and self._prometheus is not None:
                found = await self._prometheus.exemplar_trace_ids(expression,
                                                                  datetime.fromisoformat(alert["starts_at"]))
                trace_ids += [t for t in found.trace_ids if t not in trace_ids]
                if found.problem:
                    problems.append(found.problem)
        return trace_ids, problems
