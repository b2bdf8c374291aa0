"""Whether a trace-links action that found no trace says so in the incident channel. Pure.

Each alert group that joins an incident asks for trace links again, so in a storm the
same "no trace links" line would follow every group. It is said once per incident, and
not at all once a trace link is in the channel. The decision reads what earlier
trace-links actions of the incident did (their stored results, oldest first): they run
one after another on the incident's traces queue, so what they stored is complete and
holds across restarts and replicas.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bot.slack.blocks import escape

NO_PROMETHEUS = "No trace links: no trace ids in the alerts' labels, and PROMETHEUS_URL is not set for exemplars."


def channel_has_trace_message(earlier_results: Sequence[Mapping[str, object]]) -> bool:
    """True when an earlier trace-links action posted anything: trace links, or the notice
    that there were none (either is the one answer the channel needs)."""
    return any(result.get("ts") for result in earlier_results)


def no_trace_links_text(earlier_results: Sequence[Mapping[str, object]], *, prometheus_configured: bool,
                        problems: Sequence[str]) -> str | None:
    """The line saying why there are no trace links, or None when it is not to be posted."""
    if channel_has_trace_message(earlier_results):
        return None
    if not prometheus_configured:
        return NO_PROMETHEUS
    reason = problems[0] if problems else "no trace ids"
    return f"No trace links: no exemplars were found ({escape(reason)})."
