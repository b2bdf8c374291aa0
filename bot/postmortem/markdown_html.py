"""A postmortem's Markdown as HTML for the web workspace's preview: rendered by markdown-it
(CommonMark and tables) with raw HTML off, so ``<script>`` in the text stays text, then
sanitized by nh3 with a short list of tags and attributes, as a second line of defence.

Links keep only http, https and mailto URLs (or relative ones) and get ``rel="noopener
noreferrer nofollow"``; images become links to them (the workspace loads no image from
elsewhere); inline ``style`` (table alignment) is dropped: the page allows none. Pure.
"""

from __future__ import annotations

from collections.abc import Sequence

import nh3
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

__all__ = ["ATTRIBUTES", "TAGS", "markdown_html"]

TAGS = frozenset({"p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "code", "pre",
                  "blockquote", "ul", "ol", "li", "a", "table", "thead", "tbody", "tr", "th", "td"})
ATTRIBUTES: dict[str, set[str]] = {"a": {"href", "title"}, "ol": {"start"}}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "noopener noreferrer nofollow"


def _image_as_link(renderer: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict,
                   env: EnvType) -> str:
    token = tokens[idx]
    alt = renderer.renderInlineAsText(token.children or [], options, env) or "image"
    href = escapeHtml(str(token.attrGet("src") or ""))
    return f'<a href="{href}">{escapeHtml(alt)}</a>'


_MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable("table")
_MARKDOWN.add_render_rule("image", _image_as_link)
_CLEANER = nh3.Cleaner(tags=set(TAGS), attributes={tag: set(names) for tag, names in ATTRIBUTES.items()},
                       url_schemes=set(URL_SCHEMES), link_rel=LINK_REL, strip_comments=True)


def markdown_html(text: str) -> str:
    """The sanitized HTML fragment for ``text``; safe to put in a page as it is."""
    return _CLEANER.clean(_MARKDOWN.render(text))
