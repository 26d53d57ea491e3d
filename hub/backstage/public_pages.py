"""The pages a public service must have, served by the hub to anyone (no sign-in): cookies, privacy
notice, accessibility statement and house rules, at ``/hub/cookies``, ``/hub/privacy``,
``/hub/accessibility`` and ``/hub/house-rules``.

Their texts are Markdown files a site can replace: the defaults are in ``backstage/site_texts/``; a file
of the same name in the folder of the site setting ``texts_dir`` wins. A text is a Jinja template
(sandboxed) first, so it can show the site settings (``{{ privacy.controller }}``) and rows that apply
to this lab only (``{% if sign_in == "oidc" %}``), then Markdown rendered safely: raw HTML is escaped,
only harmless tags and link schemes are kept, and GOV.UK Frontend's classes are added.

The commons' house-rules page sends people to the hub's, so one text serves both.
"""

from __future__ import annotations

import functools
import html
import logging
import re
from pathlib import Path

import bleach
import mistune
from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment
from jupyterhub.handlers import BaseHandler
from markupsafe import Markup, escape
from tornado import web

log = logging.getLogger(__name__)

__all__ = ["DEFAULT_TEXTS", "PAGES", "PublicPageHandler", "public_handlers", "render_text", "text_path"]

DEFAULT_TEXTS = Path(__file__).resolve().parent / "site_texts"

#: path below /hub/ → the page's title (its text is ``<path>.md``)
PAGES = {
    "cookies": "Cookies",
    "privacy": "Privacy notice",
    "accessibility": "Accessibility statement",
    "house-rules": "House rules",
}

_md = mistune.create_markdown(escape=True, plugins=["table"])
_TAGS = {"p", "br", "strong", "em", "code", "ul", "ol", "li", "a", "h1", "h2", "h3", "h4", "hr", "table", "thead",
         "tbody", "tr", "th", "td", "blockquote"}
_PROTOCOLS = {"http", "https", "mailto"}
#: plain tags as bleach writes them → the same tag with GOV.UK Frontend's class
_GOVUK = {
    "<h1>": '<h1 class="govuk-heading-xl">', "<h2>": '<h2 class="govuk-heading-l">',
    "<h3>": '<h3 class="govuk-heading-m">', "<h4>": '<h4 class="govuk-heading-s">',
    "<p>": '<p class="govuk-body">', "<ul>": '<ul class="govuk-list govuk-list--bullet">',
    "<ol>": '<ol class="govuk-list govuk-list--number">', "<table>": '<table class="govuk-table bk-stack-table">',
    "<thead>": '<thead class="govuk-table__head">', "<tbody>": '<tbody class="govuk-table__body">',
    "<tr>": '<tr class="govuk-table__row">', "<th>": '<th scope="col" class="govuk-table__header">',
    "<td>": '<td class="govuk-table__cell">', "<td data-label=": '<td class="govuk-table__cell" data-label=', "<hr>": '<hr class="govuk-section-break govuk-section-break--l '
    'govuk-section-break--visible">', "<blockquote>": '<div class="govuk-inset-text">',
    "</blockquote>": "</div>", "<a href=": '<a class="govuk-link" href=',
}
_GOVUK_RE = re.compile("|".join(re.escape(tag) for tag in _GOVUK))


class TextError(ValueError):
    """A site text cannot be rendered; the message names the file, the cause and the fix."""


def text_path(name: str, texts_dir: str | None = None) -> Path:
    """The file of page ``name``: ``<texts_dir>/<name>.md`` when the site has one, else the default."""
    if texts_dir:
        own = Path(texts_dir) / f"{name}.md"
        if own.is_file():
            return own
    return DEFAULT_TEXTS / f"{name}.md"


@functools.cache
def _jinja() -> SandboxedEnvironment:
    # Markdown source, not HTML: escaping is the Markdown step's (raw HTML in a text or a setting shows as text)
    return SandboxedEnvironment(autoescape=False, undefined=StrictUndefined, keep_trailing_newline=True)  # noqa: S701


def _label_cells(table: re.Match) -> str:
    """Each ``<td>`` of a table gets its column's heading as ``data-label``: on phones the rows stack (web.css)."""
    source = table.group(0)
    labels = [escape(html.unescape(bleach.clean(h, tags=set(), strip=True)).strip())
              for h in re.findall(r"<th>(.*?)</th>", source, flags=re.S)]

    def row(tr: re.Match) -> str:
        cells = iter(labels)
        return re.sub(r"<td>", lambda _: f'<td data-label="{next(cells, "")}">', tr.group(0))

    return re.sub(r"<tr>.*?</tr>", row, source, flags=re.S)


def markdown_html(text: str) -> Markup:
    """HTML for Markdown ``text`` with GOV.UK Frontend's classes; raw HTML escaped, unsafe links dropped."""
    clean = bleach.clean(_md(text), tags=_TAGS, attributes={"a": ["href"]}, protocols=_PROTOCOLS, strip=True)
    clean = re.sub(r"<table>.*?</table>", _label_cells, clean, flags=re.S)
    return Markup(_GOVUK_RE.sub(lambda m: _GOVUK[m.group(0)], clean))  # noqa: S704 (cleaned above; fixed markup)


def render_text(name: str, texts_dir: str | None = None, **context) -> Markup:
    """The HTML of page ``name``, from its text file filled in with ``context`` (the site's settings).

    Raises
    ------
    TextError
        The file is missing or names a setting that does not exist.
    """
    path = text_path(name, texts_dir)
    try:
        source = path.read_text(encoding="utf-8")
    except OSError as e:
        raise TextError(f"the text of /hub/{name} cannot be read at {path} ({e.strerror}): restore the file, "
                        f"or put a {name}.md in the folder of the site setting texts_dir") from None
    try:
        filled = _jinja().from_string(source).render(**context)
    except TemplateError as e:
        raise TextError(f"{path}: {e.message or e} (known names: {', '.join(sorted(context))}): "
                        "fix the text, e.g. {{ privacy.controller }}") from None
    return markdown_html(filled)


class PublicPageHandler(BaseHandler):
    """One of :data:`PAGES`, for anyone (signed in or not), in the hub's layout (``public_page.html``)."""

    def initialize(self, name: str, texts_dir: str | None, context: dict):
        self.page_name = name
        self.texts_dir = texts_dir
        self.context = context

    async def get(self):
        context = {**self.context, "services": sorted(self.services)}
        try:
            body = render_text(self.page_name, self.texts_dir, **context)
        except TextError as e:  # the site's own mistake: the log names the file and the fix, the page no path
            log.error("%s", e)
            raise web.HTTPError(500, f"The {PAGES[self.page_name].lower()} page has a mistake in its text: the "
                                     "lab's log names the file and how to fix it.") from None
        self.finish(await self.render_template("public_page.html", page_title=PAGES[self.page_name], body=body,
                                               page_name=self.page_name))


def public_handlers(settings: dict) -> list[tuple]:
    """``JupyterHub.extra_handlers`` for the four pages (paths below the hub's prefix; a relative
    ``texts_dir`` is in the state folder)."""
    context = {
        "privacy": settings["privacy"],
        "accessibility": settings["accessibility"],
        "sign_in": settings["auth"]["mode"],
    }
    texts_dir = str(Path(settings["state_dir"]) / settings["texts_dir"]) if settings.get("texts_dir") else None
    return [(rf"/{name}", PublicPageHandler, {"name": name, "texts_dir": texts_dir, "context": context})
            for name in PAGES]
