"""Markdown rendered safely: raw HTML escaped (mistune), then only harmless tags, attributes and link
schemes kept (bleach). ``<script>`` shows as text; a ``javascript:`` link loses its ``href``."""

from __future__ import annotations

import bleach
import mistune
from markupsafe import Markup

_md = mistune.create_markdown(escape=True, plugins=["strikethrough", "table"])
_TAGS = {"p", "br", "strong", "em", "del", "code", "pre", "blockquote", "ul", "ol", "li", "a", "h1", "h2", "h3",
         "h4", "h5", "h6", "hr", "table", "thead", "tbody", "tr", "th", "td"}
_ATTRIBUTES = {"a": ["href", "title"]}
_PROTOCOLS = {"http", "https", "mailto"}


def render(text: str) -> Markup:
    """HTML for *text* (Markdown), safe to insert into a page."""
    html = _md(text or "")
    clean = bleach.clean(html, tags=_TAGS, attributes=_ATTRIBUTES, protocols=_PROTOCOLS, strip=True)
    return Markup(clean)  # noqa: S704 (cleaned above)
