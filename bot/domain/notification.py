"""Parse and validate Alertmanager webhook payloads (version 4), and Grafana Alerting's
webhook contact point payloads (version 1: the same shape, plus ``orgId``, ``state``,
``title``, ``message`` and, per alert, ``silenceURL``, ``dashboardURL``, ``panelURL``,
``imageURL`` and ``values``; the links become links in the incident channel).

Unknown top-level fields (``notification_reason``, ``routeLabels`` in newer
Alertmanagers) are accepted and ignored; the fields the bot relies on are required
and every error names the field it is about, e.g. ``alerts[3].startsAt``.

Two decoders, one meaning. The pydantic models are the reference: they say what is accepted,
what it becomes and, for anything refused, which field is wrong. Every delivery is first
tried by a msgspec decoder of the same shape that is stricter wherever the two could differ
(timestamps only in the RFC 3339 form Alertmanager writes, read by ``datetime.fromisoformat``
with pydantic's truncation to microseconds; no NUL escape anywhere): a body it accepts gives
the value the reference would, and anything it refuses goes to the reference, which accepts
it or names what is wrong. That keeps validation, a good part of a delivery's CPU, at about
half pydantic's cost (``tests/domain/test_notification_decoders.py`` holds them together).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Literal

import msgspec
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, ValidationError

# Alertmanager serialises "not resolved yet" as Go's zero time.
_GO_ZERO_YEAR = 1

_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# PostgreSQL stores no NUL in text or JSONB; without this check such a body would fail
# at the database and be answered 503, so Alertmanager would retry it for ever.
_NUL_ESCAPE = "\\u0000"
_NUL_MESSAGE = "must not contain NUL characters (\\u0000)"

Fingerprint = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z]+$")]
LabelSet = dict[str, str]


class PayloadError(ValueError):
    """The payload is not an Alertmanager webhook the bot can accept; names the field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field


class _Alert(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    status: Literal["firing", "resolved"]
    labels: LabelSet = Field(min_length=1)
    annotations: LabelSet = Field(default_factory=dict)
    startsAt: AwareDatetime
    endsAt: AwareDatetime | None = None
    generatorURL: str = ""
    fingerprint: Fingerprint
    # Grafana Alerting only (empty strings when a rule has no dashboard or panel).
    silenceURL: str = ""
    dashboardURL: str = ""
    panelURL: str = ""


class _Webhook(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    version: Literal["4", "1"]  # Alertmanager's, Grafana Alerting's
    groupKey: str = Field(min_length=1, max_length=10_000)
    truncatedAlerts: int = Field(default=0, ge=0)
    status: Literal["firing", "resolved"]
    receiver: str = Field(default="", max_length=200)
    groupLabels: LabelSet = Field(default_factory=dict)
    commonLabels: LabelSet = Field(default_factory=dict)
    commonAnnotations: LabelSet = Field(default_factory=dict)
    externalURL: str = ""
    alerts: list[_Alert]


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert as Alertmanager reported it."""

    fingerprint: str
    status: str
    labels: LabelSet
    annotations: LabelSet
    starts_at: datetime
    ends_at: datetime | None
    generator_url: str | None
    silence_url: str | None = None
    dashboard_url: str | None = None
    panel_url: str | None = None

    @property
    def identity(self) -> tuple[str, datetime]:
        return (self.fingerprint, self.starts_at)

    @property
    def firing(self) -> bool:
        return self.status == "firing"


@dataclass(frozen=True, slots=True)
class AlertGroupNotification:
    """A whole webhook delivery: one Alertmanager group and its alerts."""

    group_key: str
    receiver: str
    status: str
    group_labels: LabelSet
    common_labels: LabelSet
    common_annotations: LabelSet
    external_url: str
    truncated_alerts: int
    alerts: Sequence[Alert]

    @property
    def firing(self) -> list[Alert]:
        return [a for a in self.alerts if a.firing]


def _utc(value: datetime | None, field: str) -> datetime | None:
    if value is None or value.year == _GO_ZERO_YEAR:
        return None
    try:
        return value.astimezone(UTC)
    except OverflowError:  # e.g. 9999-12-31T23:59:59-01:00 is in year 10000 in UTC
        raise PayloadError(field, "is out of range: must be between years 1 and 9999 in UTC") from None


def _field_path(loc: Sequence[int | str]) -> str:
    """``("alerts", 3, "labels", "team")`` -> ``alerts[3].labels.team``; odd keys quoted."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif _PLAIN_KEY.fullmatch(part):
            path += f".{part}" if path else part
        else:
            path += f"[{json.dumps(part, ensure_ascii=False)}]"
    return path


def _strings(value: object, loc: tuple[int | str, ...] = ()) -> Iterator[tuple[tuple[int | str, ...], str]]:
    """Every string in a dumped model, keys included, with where it is."""
    if isinstance(value, str):
        yield loc, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield (*loc, key), key
            yield from _strings(item, (*loc, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, (*loc, index))


def _reject_nul(body: bytes | str, raw: _Webhook) -> None:
    # Only a body with the escape can hold a NUL (JSON has no raw NUL), so valid bodies pay nothing.
    if (_NUL_ESCAPE not in body) if isinstance(body, str) else (_NUL_ESCAPE.encode() not in body):
        return
    for loc, text in _strings(raw.model_dump()):
        if "\x00" in text:
            raise PayloadError(_field_path(loc), _NUL_MESSAGE)


def parse_webhook(body: bytes | str) -> AlertGroupNotification:
    """Validate a webhook body; raise PayloadError naming the first wrong field."""
    parsed = _decode_strictly(body)
    return parsed if parsed is not None else parse_webhook_reference(body)


def parse_webhook_reference(body: bytes | str) -> AlertGroupNotification:
    """:func:`parse_webhook` by the pydantic models alone: what every body means."""
    try:
        raw = _Webhook.model_validate_json(body)
    except ValidationError as exc:
        raise _as_payload_error(exc) from None
    _reject_nul(body, raw)
    alerts = []
    for index, item in enumerate(raw.alerts):
        starts_at = _utc(item.startsAt, f"alerts[{index}].startsAt")
        if starts_at is None:
            raise PayloadError(f"alerts[{index}].startsAt", "must be a real start time, not Go's zero time")
        alerts.append(
            Alert(
                fingerprint=item.fingerprint,
                status=item.status,
                labels=item.labels,
                annotations=item.annotations,
                starts_at=starts_at,
                ends_at=_utc(item.endsAt, f"alerts[{index}].endsAt"),
                generator_url=item.generatorURL or None,
                silence_url=item.silenceURL or None,
                dashboard_url=item.dashboardURL or None,
                panel_url=item.panelURL or None,
            )
        )
    return AlertGroupNotification(
        group_key=raw.groupKey,
        receiver=raw.receiver,
        status=raw.status,
        group_labels=raw.groupLabels,
        common_labels=raw.commonLabels,
        common_annotations=raw.commonAnnotations,
        external_url=raw.externalURL,
        truncated_alerts=raw.truncatedAlerts,
        alerts=tuple(alerts),
    )


_NonEmptyLabels = Annotated[LabelSet, msgspec.Meta(min_length=1)]


class _StrictAlert(msgspec.Struct, frozen=True):
    status: Literal["firing", "resolved"]
    labels: _NonEmptyLabels
    startsAt: str
    # \Z, not $: Python's $ also matches before a final newline, pydantic's does not.
    fingerprint: Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"\A[0-9A-Za-z]+\Z")]
    annotations: LabelSet = {}
    endsAt: str | None = None
    generatorURL: str = ""
    silenceURL: str = ""
    dashboardURL: str = ""
    panelURL: str = ""


class _StrictWebhook(msgspec.Struct, frozen=True):
    version: Literal["4", "1"]
    groupKey: Annotated[str, msgspec.Meta(min_length=1, max_length=10_000)]
    status: Literal["firing", "resolved"]
    alerts: list[_StrictAlert]
    truncatedAlerts: Annotated[int, msgspec.Meta(ge=0)] = 0
    receiver: Annotated[str, msgspec.Meta(max_length=200)] = ""
    groupLabels: LabelSet = {}
    commonLabels: LabelSet = {}
    commonAnnotations: LabelSet = {}
    externalURL: str = ""


_strict_decoder = msgspec.json.Decoder(_StrictWebhook)
_GO_ZERO_TEXT = "0001-01-01T00:00:00Z"
# What Alertmanager (Go's time.RFC3339Nano) and Grafana write; anything else goes to pydantic.
_RFC3339 = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,9})?(?:Z|[+-][0-9]{2}:[0-9]{2})")


class _Refused(Exception):
    """The strict decoder leaves this body to the reference."""


def _strict_time(text: str) -> datetime | None:
    """As the reference reads a timestamp and :func:`_utc` converts it; None for Go's zero time."""
    if text == _GO_ZERO_TEXT:  # every firing alert's endsAt
        return None
    if _RFC3339.fullmatch(text) is None:
        raise _Refused
    try:
        value = datetime.fromisoformat(text)  # truncates past microseconds, as pydantic does
        return None if value.year == _GO_ZERO_YEAR else value.astimezone(UTC)
    except (ValueError, OverflowError):
        raise _Refused from None


def _decode_strictly(body: bytes | str) -> AlertGroupNotification | None:
    """The notification if the strict decoder accepts the body, else None."""
    if (_NUL_ESCAPE in body) if isinstance(body, str) else (_NUL_ESCAPE.encode() in body):
        return None
    try:
        raw = _strict_decoder.decode(body)
        alerts = []
        for item in raw.alerts:
            starts_at = _strict_time(item.startsAt)
            if starts_at is None:
                return None
            alerts.append(Alert(
                item.fingerprint, item.status, item.labels, item.annotations, starts_at,
                _strict_time(item.endsAt) if item.endsAt is not None else None,
                item.generatorURL or None, item.silenceURL or None, item.dashboardURL or None, item.panelURL or None,
            ))
    except (msgspec.DecodeError, _Refused):
        return None
    return AlertGroupNotification(
        raw.groupKey, raw.receiver, raw.status, raw.groupLabels, raw.commonLabels, raw.commonAnnotations,
        raw.externalURL, raw.truncatedAlerts, tuple(alerts),
    )


PARSED_KEPT = 256
_parsed: OrderedDict[bytes, AlertGroupNotification] = OrderedDict()


def parse_webhook_cached(body: bytes) -> AlertGroupNotification:
    """:func:`parse_webhook`, remembering the latest :data:`PARSED_KEPT` bodies: Alertmanager
    re-sends a group's unchanged notification (retries, repeat_interval), and validation is a
    good part of what a delivery costs. Nothing in the bot changes a parsed notification, so
    sharing one is safe; errors are not remembered. Kept by the body's digest, not the body
    (a few KiB each, 1.3 MiB of a full cache)."""
    key = hashlib.blake2b(body, digest_size=16).digest()
    parsed = _parsed.get(key)
    if parsed is not None:
        _parsed.move_to_end(key)
        return parsed
    parsed = _parsed[key] = parse_webhook(body)
    if len(_parsed) > PARSED_KEPT:
        _parsed.popitem(last=False)
    return parsed


def _as_payload_error(exc: ValidationError) -> PayloadError:
    errors = exc.errors(include_url=False, include_input=False)
    first = errors[0]
    if first["type"] in ("json_invalid", "json_type"):
        return PayloadError("", "body is not valid JSON" if first["type"] == "json_invalid" else "body must be a JSON object")
    if first["type"] == "model_type" and not first["loc"]:
        return PayloadError("", "body must be a JSON object")
    field = _field_path(tuple(first["loc"])) or "body"
    message = first["msg"][0].lower() + first["msg"][1:]
    if first["type"] == "missing":
        message = "is required"
    elif field.endswith(("startsAt", "endsAt")):
        message = "must be an RFC 3339 timestamp with a time zone, e.g. 2026-11-20T14:02:31Z"
    elif field == "version":
        message = 'must be "4" (Alertmanager webhook payload version 4) or "1" (Grafana Alerting webhook)'
    more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
    return PayloadError(field, message + more)
