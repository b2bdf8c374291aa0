"""The postmortem template: the shipped one, and compiling any (a playbook may ship its own)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from jinja2 import Template

from bot.playbook.templates import compile_document_template

__all__ = ["DEFAULT_TEMPLATE_PATH", "PostmortemTemplateError", "compile_postmortem_template", "default_template"]

DEFAULT_TEMPLATE_PATH = Path(__file__).resolve().parents[2] / "playbooks" / "templates" / "postmortem.md.j2"


class PostmortemTemplateError(ValueError):
    """The postmortem template does not compile or fails while rendering."""


def compile_postmortem_template(source: str) -> Template:
    """Compile a postmortem template (cached by source); use it to validate a playbook's.

    Raises:
        PostmortemTemplateError: on a syntax error, with Jinja's message and line number.
    """
    try:
        return compile_document_template(source)
    except ValueError as exc:
        raise PostmortemTemplateError(str(exc).replace("invalid template", "invalid postmortem template", 1)) from None


@lru_cache(maxsize=1)
def default_template() -> str:
    """The shipped template's source (read once: the only file the package reads)."""
    return DEFAULT_TEMPLATE_PATH.read_text(encoding="utf-8")
