"""Hypothesis strategies for Alertmanager webhook bodies: valid ones, and valid ones with one
mutation (a dropped field, a wrong type, a huge or odd string, a null), plus plain noise."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hypothesis import strategies as st

from tests.support.documents import locations
from tests.support.payloads import group

Path = tuple[str | int, ...]

# Label names and values as Prometheus allows them, plus the odd ones real setups produce.
label_names = st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_]{0,20}", fullmatch=True)
# Any Unicode but NUL, which the parser refuses (PostgreSQL cannot store it).
label_values = (st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=40)
                | st.sampled_from(["", "<!channel>", "a & b", "{{ 7 * 7 }}", "é" * 50]))
json_scalars = (st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
                | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=30))
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=10), inner, max_size=4), max_leaves=12)
odd_strings = st.sampled_from([
    "", " ", "x" * 70_000, "\u0000", "a\u0000b", "null", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59-01:00",
    "0001-01-01T00:00:00+01:00", "2026-11-22T10:00:00", "2026-02-30T10:00:00Z", "🔥" * 100, "\u202e\u200b",
    "firing", "resolved", "4", "<!channel>",
])
# What a real Alertmanager sends: RFC 3339 with any offset, in a sane range of years.
valid_timestamps = st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1),
                                timezones=st.timezones()).map(lambda d: d.isoformat())
# Go's zero time and the edges of what a datetime can hold once moved to UTC.
odd_timestamps = st.sampled_from([
    "0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999999999-23:59", "0001-01-01T00:00:00.5+23:59",
    "0002-01-01T00:00:00+23:59", "2026-11-22T22:57:48.907557036Z", "9999-12-31T23:59:59Z",
])


def group_with(path: Path, value: Any) -> dict[str, Any]:
    """A two-alert group with the field at ``path`` set to ``value``."""
    payload = group(alerts=2)
    target: Any = payload
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return payload


@st.composite
def valid_webhooks(draw: st.DrawFn) -> dict[str, Any]:
    """A version-4 body Alertmanager could send, with drawn labels, annotations and times."""
    payload = group(alertname=draw(st.sampled_from(["HighErrorRate", "DiskFilling", "Weird<>&"])),
                    service=draw(label_values), alerts=draw(st.integers(min_value=0, max_value=3)),
                    severity=draw(st.sampled_from(["critical", "page", "warning", "info", ""])),
                    status=draw(st.sampled_from(["firing", "resolved"])),
                    extra_labels=draw(st.dictionaries(label_names, label_values, max_size=3)))
    for alert in payload["alerts"]:
        alert["annotations"].update(draw(st.dictionaries(label_names, label_values, max_size=2)))
        if draw(st.booleans()):
            alert["startsAt"] = draw(valid_timestamps)
    return payload


@dataclass(frozen=True)
class Mutation:
    path: Path
    kind: str  # "drop" or "replace"

    @property
    def field(self) -> str:
        """The path as the parser names fields: ``alerts[0].labels.team``."""
        out = ""
        for part in self.path:
            out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
        return out


@st.composite
def mutated_webhooks(draw: st.DrawFn) -> tuple[dict[str, Any], Mutation]:
    """A valid body with one field dropped or replaced by a wrong, huge, odd or null value."""
    payload = draw(valid_webhooks())
    path = draw(st.sampled_from(locations(payload)))
    parent: Any = payload
    for part in path[:-1]:
        parent = parent[part]
    if draw(st.booleans()):
        del parent[path[-1]]
        return payload, Mutation(path, "drop")
    parent[path[-1]] = draw(st.none() | odd_strings | json_values | valid_timestamps | odd_timestamps)
    return payload, Mutation(path, "replace")


def encode(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode("utf-8", errors="surrogatepass")


noise = (st.binary(max_size=300) | json_values.map(encode)
         | st.text(max_size=200).map(lambda t: t.encode("utf-8", errors="surrogatepass")))
