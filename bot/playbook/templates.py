"""The one Jinja2 sandbox for everything a playbook templates: titles, channel names and
links (one-line templates) and postmortem documents.

Templates may read the values they are given (labels, annotations, ...) but cannot reach
Python internals or mutate their arguments. Autoescaping is off because the output is
Slack text, URLs or Markdown, never HTML. A missing label renders as the empty string
(``ChainableUndefined`` also lets ``labels.missing.anything`` render empty), so a
template only fails at load time, when its *syntax* is wrong. The sandbox does not bound
CPU or memory: playbooks are trusted configuration, alert label values are only ever data.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from jinja2 import ChainableUndefined, Template, TemplateSyntaxError
from jinja2.sandbox import ImmutableSandboxedEnvironment

__all__ = ["compile_document_template", "compile_template", "render_or_none", "slugify"]

log = logging.getLogger(__name__)

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def slugify(text: str) -> str:
    """Lowercase ASCII words joined by dashes: ``"HighErrorRate in checkout"`` gives
    ``"high-error-rate-in-checkout"``. CamelCase and acronyms (``HTTPServerDown``) are
    split, accents are folded (``é`` -> ``e``), anything else becomes a single dash."""
    spaced = _CAMEL_BOUNDARY.sub("-", text)
    ascii_text = unicodedata.normalize("NFKD", spaced).encode("ascii", "ignore").decode()
    return _NOT_SLUG.sub("-", ascii_text.lower()).strip("-")


def _finalize(value: object) -> object:
    # ``{{ labels.get("x") }}`` would otherwise print "None".
    return "" if value is None else value


def _sandbox(**options: bool) -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(autoescape=False, undefined=ChainableUndefined, finalize=_finalize, **options)
    env.filters["slugify"] = slugify
    return env


# One-line templates collapse their whitespace anyway; documents keep their layout.
_LINES = _sandbox(keep_trailing_newline=False)
_DOCUMENTS = _sandbox(trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)


def _compile(env: ImmutableSandboxedEnvironment, source: str) -> Template:
    try:
        return env.from_string(source)
    except TemplateSyntaxError as exc:
        raise ValueError(f"invalid template: {exc.message} (template line {exc.lineno})") from None


@lru_cache(maxsize=1024)
def compile_template(source: str) -> Template:
    """Compile a one-line template (title, channel name, link) in the sandbox, cached by source.

    Raises:
        ValueError: on a syntax error, with Jinja's message and line number.
    """
    return _compile(_LINES, source)


@lru_cache(maxsize=32)
def compile_document_template(source: str) -> Template:
    """Compile a document template (the postmortem) in the sandbox, cached by source.

    Raises:
        ValueError: on a syntax error, with Jinja's message and line number.
    """
    return _compile(_DOCUMENTS, source)


def render_or_none(source: str, context: Mapping[str, Any]) -> str | None:
    """Render a one-line template, or None when it fails at render time (never raises)."""
    try:
        return compile_template(source).render(context)
    except Exception as exc:  # noqa: BLE001 - a template error must never stop an incident
        log.warning("template failed to render: %s: %s", type(exc).__name__, exc)
        return None
