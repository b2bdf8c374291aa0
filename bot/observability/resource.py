"""The bot's OpenTelemetry resource: imports the SDK, so only a bot that traces loads it."""

from __future__ import annotations

from opentelemetry.sdk.resources import Resource
from opentelemetry.util.types import Attributes


class HashedOnce(Resource):
    """A resource that computes its hash once. The OTLP encoder groups every exported span
    by its resource, and ``Resource.__hash__`` serialises all attributes to JSON each time:
    about a fifth of what exporting a span cost."""

    def __init__(self, attributes: Attributes, schema_url: str | None = None) -> None:
        super().__init__(attributes, schema_url)  # type: ignore[arg-type]  # the SDK's own attributes
        self._hash = Resource.__hash__(self)

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        return self is other or super().__eq__(other)


def hashed_once(resource: Resource) -> HashedOnce:
    return HashedOnce(resource.attributes, resource.schema_url)
