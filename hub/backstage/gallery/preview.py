"""What a reviewer reads before approving: the static preview and the warnings about what officials would see.

The preview is nbconvert's HTML exporter with its sanitiser on (bleach, over Markdown and HTML outputs:
scripts, event handlers, frames and unknown tags removed), without the cells tagged ``author-only``. Its
allow-list is nbconvert's with the tags a dashboard's text needs (headings, paragraphs, tables, images), which
nbconvert's own list would print as escaped text. The gallery also serves the preview with
``Content-Security-Policy: sandbox; default-src 'none'``, so nothing in it runs or loads.

The warnings follow two rules, written here and on the review page:

1. **Code for the author, left in the dashboard.** A cell that officials' dashboard would run and that submits
   to the gallery (``backstage.gallery.client``, ``api/submissions``) or calls the hub with a token
   (``JUPYTERHUB_API_TOKEN``, ``/hub/api``) is named, with the fix: tag it ``author-only``.
2. **Output meant for the author.** Officials read charts, tables and widgets, not logs: more than
   ``MAX_TEXT_LINES`` lines of plain-text output in all (printed text, bare values such as a stray ``38``),
   or any error or stderr output (tracebacks, library warnings), is named with the cells that produce it.
"""

from __future__ import annotations

import re

import bleach
import nbformat
from bleach.css_sanitizer import CSSSanitizer
from nbconvert import HTMLExporter
from nbconvert.preprocessors import TagRemovePreprocessor

from .notebooks import AUTHOR_ONLY, is_author_only, strip_ansi

__all__ = ["MAX_TEXT_LINES", "review_warnings", "static_preview"]

#: More plain-text output lines than this, over the whole dashboard, draws a warning.
MAX_TEXT_LINES = 40

_FOR_THE_AUTHOR = re.compile(
    r"backstage\.gallery\.client|from\s+backstage\.gallery\s+import\s+client|api/submissions"
    r"|JUPYTERHUB_API_TOKEN|/hub/api"
)


_TAGS = [*bleach.ALLOWED_TAGS, "h1", "h2", "h3", "h4", "h5", "h6", "p", "br", "hr", "div", "span", "pre", "code",
         "table", "thead", "tbody", "tfoot", "tr", "th", "td", "caption", "img", "figure", "figcaption", "sub", "sup"]
_ATTRIBUTES = {**bleach.ALLOWED_ATTRIBUTES, "*": ["class", "id", "style"], "img": ["src", "alt", "width", "height"],
               "th": ["colspan", "rowspan", "scope"], "td": ["colspan", "rowspan"]}


def _clean_html(element) -> str:
    """nbconvert's ``clean_html`` filter with the allow-list above; disallowed markup is removed, not escaped."""
    element = element.decode() if isinstance(element, bytes) else str(element)
    return bleach.clean(element, tags=_TAGS, attributes=_ATTRIBUTES, protocols=["http", "https", "data"],
                        css_sanitizer=CSSSanitizer(), strip=True)


def static_preview(nb: nbformat.NotebookNode) -> str:
    """*nb* as officials will see it: sanitised HTML (nbconvert's lab template) of the outputs and text, without
    code (a dashboard shows none) and without ``author-only`` cells. Reviewers read the code in the notebook."""
    exporter = HTMLExporter(template_name="lab", sanitize_html=True, exclude_anchor_links=True, exclude_input=True,
                            exclude_input_prompt=True, exclude_output_prompt=True,
                            filters={"clean_html": _clean_html})
    exporter.register_preprocessor(TagRemovePreprocessor(remove_cell_tags={AUTHOR_ONLY}), enabled=True)
    body, _ = exporter.from_notebook_node(nb)
    return body


def _source(cell) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _name(number: int, cell) -> str:
    """``cell 3 ("print(df)")``: its place among the dashboard's cells and its first line."""
    first = next((line.strip() for line in _source(cell).splitlines() if line.strip()), "")
    excerpt = first[:60] + ("..." if len(first) > 60 else "")
    return f"cell {number} ({excerpt!r})"


def _text_lines(output) -> tuple[int, bool]:
    """(plain-text lines an output shows, whether it is an error or stderr)."""
    kind = output.get("output_type")
    if kind == "stream":
        text = output.get("text", "")
        text = "".join(text) if isinstance(text, list) else text
        return len(text.splitlines()), output.get("name") == "stderr"
    if kind == "error":
        return len(output.get("traceback") or []) or 1, True
    data = output.get("data") or {}
    if set(data) <= {"text/plain"} and "text/plain" in data:
        text = data["text/plain"]
        return len(("".join(text) if isinstance(text, list) else text).splitlines()), False
    return 0, False


def review_warnings(nb: nbformat.NotebookNode, executed: nbformat.NotebookNode | None = None) -> list[str]:
    """Warnings for the reviewer about what officials would see (see the module's rules).

    *nb* is the notebook as the gallery runs it; *executed* the checks' run of it (for its outputs).

    Examples
    --------
    >>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("from backstage.gallery import client")])
    >>> review_warnings(nb)[0].split(" submits")[0]
    "Cell 1 ('from backstage.gallery import client')"
    """
    warnings = []
    for number, cell in enumerate(nb.cells, start=1):
        if cell.get("cell_type") == "code" and not is_author_only(cell) and _FOR_THE_AUTHOR.search(_source(cell)):
            warnings.append(
                f"{_name(number, cell).capitalize()} submits to the gallery or calls the hub with a token, and officials' dashboard "
                f"would run it: ask the author to tag it '{AUTHOR_ONLY}' (JupyterLab: Property Inspector, Cell Tags)."
            )
    total, noisy = 0, []
    for number, cell in enumerate((executed or nb).cells, start=1):
        if is_author_only(cell):
            continue
        lines, alarming = 0, False
        for output in cell.get("outputs") or []:
            n, bad = _text_lines(output)
            lines, alarming = lines + n, alarming or bad
        total += lines
        if lines and (alarming or lines > 5):
            noisy.append(_name(number, cell) + (": errors or warnings" if alarming else f": {lines} lines"))
    if total > MAX_TEXT_LINES or any(n.endswith("warnings") for n in noisy):
        where = "; ".join(noisy) if noisy else "several cells"
        warnings.append(
            f"The dashboard shows {total} lines of plain-text output (printed text, bare values, warnings), "
            f"meant for the author rather than officials: {where}. Ask the author to tag those cells "
            f"'{AUTHOR_ONLY}', or show the result as a table, a chart or a widget."
        )
    return [strip_ansi(w) for w in warnings]
