"""The OTLP exporter's span attributes, encoded once per distinct key and value.

Nearly every attribute of the bot's spans repeats from one span to the next (the method, the
route, the scheme, the server's address, an outcome), yet the exporter builds two protobuf
messages for each of them in every span it sends: some 40% of its CPU per span, on a thread
that shares the interpreter lock with the event loop and the SQLite writer. The encoder in
``opentelemetry-exporter-otlp-proto-common`` looks its attribute encoder up by name at each
call, so :func:`install` puts a memoising one in its place; the messages it returns are
copied into each span (protobuf copies a message put into a repeated field), so sharing
them is safe. Imports the exporter: only a bot that traces loads this.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import ModuleType

from opentelemetry.exporter.otlp.proto.common._internal import trace_encoder
from opentelemetry.proto.common.v1.common_pb2 import KeyValue
from opentelemetry.util.types import AnyValue

# Bounded: values such as an incident id or a path differ from span to span. When full the
# cache starts again, which costs one encoding per value, as without it.
MAX_ENTRIES = 4096

_Encode = Callable[[Mapping[str, AnyValue] | None], list[KeyValue]]


class AttributeCache:
    """``encode(attributes)``: the library's own encoding of each key and value, memoised."""

    def __init__(self, library_encode: _Encode, max_entries: int = MAX_ENTRIES) -> None:
        self._library_encode = library_encode
        self._max_entries = max_entries
        self._encoded: dict[tuple[str, type, AnyValue], KeyValue] = {}

    def encode(self, attributes: Mapping[str, AnyValue] | None) -> list[KeyValue]:
        if not attributes:
            return []
        encoded = self._encoded
        out: list[KeyValue] = []
        for key, value in attributes.items():
            # The value's type is part of the key: True == 1 and 1 == 1.0 in Python, but
            # they are a bool, an int and a double in OTLP.
            entry = (key, value.__class__, value)
            try:
                pair = encoded.get(entry)
            except TypeError:  # an unhashable value (a list): encoded each time
                out.extend(self._library_encode({key: value}))
                continue
            if pair is None:
                pairs = self._library_encode({key: value})
                if not pairs:  # the library logs and drops what it cannot encode
                    continue
                pair = pairs[0]
                if len(encoded) >= self._max_entries:
                    encoded.clear()
                encoded[entry] = pair
            out.append(pair)
        return out

    def __len__(self) -> int:
        return len(self._encoded)


def install(module: ModuleType = trace_encoder) -> Callable[[], None] | None:
    """Put a memoising attribute encoder into the span encoder; returns what undoes it, or
    None (nothing changed) if this version of the library has no such function to replace."""
    library_encode = getattr(module, "_encode_attributes", None)
    if not callable(library_encode):
        return None
    cache = AttributeCache(library_encode)
    module._encode_attributes = cache.encode  # type: ignore[attr-defined]  # the library's own name

    def uninstall() -> None:
        module._encode_attributes = library_encode  # type: ignore[attr-defined]

    return uninstall
