"""Whether a trace-links action that found no trace says so in the incident channel. Pure.

Each alert group that joins an incident asks for trace links again, so in a storm the
same "no trace links" line would follow every group. It is said once per incident, and
not at all once a trace link is in the channel: the caller says whether an earlier
trace-links action of the incident posted anything (trace links, or this very line),
from what those actions stored. They run one after another on the incident's traces
queue, so what they stored is complete, and it holds across restarts and replicas.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.slack.blocks import escape

NO_PROMETHEUS = "No trace links: no trace ids in the alerts' labels, and PROMETHEUS_URL is not set for exemplars."


def no_trace_links_text(channel_has_trace_message: bool, *, prometheus_configured: bool,
                        problems: Sequence[str]) -> str | None:
    """The line saying why there are no trace links, or None when it is not to be posted."""
    if channel_has_trace_message:
        return None
    if not prometheus_configured:
        return NO_PROMETHEUS
    reason = problems[0] if problems else "no trace ids"
    return f"No trace links: no exemplars were found ({escape(reason)})."
