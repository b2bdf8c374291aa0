"""Reading Web API arguments the way Slack does: query string, form or JSON body."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from .errors import SlackError, invalid_arguments

# Fields Slack documents as "JSON, presented as a URL-encoded string" in a form body.
JSON_FIELDS = frozenset({"blocks", "attachments", "metadata", "files", "view", "document_content"})
_TRUE = frozenset({"1", "true", "True", "yes"})


async def read_arguments(request: web.Request) -> tuple[dict[str, Any], str | None]:
    """Merge query, form and JSON arguments; return them with the token (header or field)."""
    args: dict[str, Any] = dict(request.query)
    if request.method == "POST" and request.body_exists:
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError as exc:
                raise SlackError("invalid_json") from exc
            if not isinstance(body, dict):
                raise SlackError("json_not_object")
            args.update(body)
        elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            args.update({k: v for k, v in form.items() if isinstance(v, str)})
        else:
            raise SlackError("invalid_post_type")
    field_token = args.pop("token", None)
    for name in JSON_FIELDS & args.keys():
        value = args[name]
        if isinstance(value, str):
            # Keep an undecodable string as is, so the method can report its own *_format error.
            with contextlib.suppress(ValueError):
                args[name] = json.loads(value)
    header = request.headers.get("Authorization", "")
    token = header[len("Bearer ") :] if header.startswith("Bearer ") else field_token
    return args, (str(token) if token else None)


class Args:
    """Typed access to one call's arguments, raising Slack's errors for bad values."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.raw = dict(raw)

    def __contains__(self, name: str) -> bool:
        return self.raw.get(name) not in (None, "")

    def get(self, name: str, default: Any = None) -> Any:
        """The value as received (JSON fields already decoded)."""
        value = self.raw.get(name)
        return default if value is None else value

    def text(self, name: str, *, required: bool = False, error: str | None = None) -> str | None:
        """A string argument; a missing required one raises ``error`` or invalid_arguments."""
        value = self.raw.get(name)
        if value is None or value == "":
            if required:
                raise SlackError(error) if error else invalid_arguments(f"missing required field: {name}")
            return None
        if isinstance(value, (dict, list)):
            return json.dumps(value)
        return str(value)

    def flag(self, name: str, default: bool = False) -> bool:
        """A boolean argument: JSON true/false, or "1"/"0"/"true"/"false" in a form."""
        value = self.raw.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            return value
        return str(value) in _TRUE

    def integer(self, name: str, default: int, *, error: str = "invalid_arguments") -> int:
        """An integer argument; a non-integer raises ``error``."""
        value = self.raw.get(name)
        if value is None or value == "":
            return default
        try:
            return int(value)
        except (TypeError, ValueError) as exc:
            if error == "invalid_arguments":
                raise invalid_arguments(f"invalid value for {name}: {value!r}") from exc
            raise SlackError(error) from exc

    def id_list(self, name: str) -> list[str]:
        """A comma-separated list of ids (also accepts a JSON list), without empties."""
        value = self.raw.get(name)
        if value is None:
            return []
        items = value if isinstance(value, list) else str(value).split(",")
        return [str(item).strip() for item in items if str(item).strip()]
