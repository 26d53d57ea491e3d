"""The printable brief: Markdown to self-contained HTML (no CDN), then to PDF with headless Chromium."""

from __future__ import annotations

import html
import logging
import shutil
import tempfile
from pathlib import Path

import mistune

from backstage.chromium import CHROMIUM_ARGS

from .catalog import Kit
from .errors import KitError

log = logging.getLogger(__name__)


PRINT_CSS = """
@page { size: A4; margin: 18mm 16mm; }
html { font-family: "DejaVu Sans", Arial, sans-serif; font-size: 11pt; line-height: 1.45; color: #0b0c0c; }
body { max-width: 46em; margin: 0 auto; padding: 1em; }
h1 { font-size: 22pt; margin: 0 0 .3em; border-bottom: 4px solid #1d70b8; padding-bottom: .2em; }
h2 { font-size: 15pt; margin-top: 1.4em; break-after: avoid; }
h3 { font-size: 12pt; break-after: avoid; }
.facts { display: grid; grid-template-columns: max-content 1fr; gap: .2em 1em; margin: .8em 0 1.2em; }
.facts dt { font-weight: bold; }
.facts dd { margin: 0; }
.links { border: 2px solid #b1b4b6; padding: .6em .9em; margin: 1em 0; break-inside: avoid; }
.links h2 { margin-top: 0; }
.links .link { display: flex; gap: 1em; align-items: flex-start; break-inside: avoid; }
.links .qr { flex: none; }
.links a, .links code { word-break: break-all; font-size: 9pt; }
code, pre { font-family: "DejaVu Sans Mono", monospace; font-size: 9.5pt; }
pre { background: #f3f2f1; padding: .6em; white-space: pre-wrap; }
table { border-collapse: collapse; }
th, td { border: 1px solid #b1b4b6; padding: .2em .5em; text-align: left; }
a { color: #1d70b8; }
footer { margin-top: 2em; font-size: 9pt; color: #505a5f; }
@media print { a { color: inherit; } body { padding: 0; } }
"""

# escape=True: any raw HTML in a brief is shown as text, never run (briefs may come from anyone's fork).
_markdown = mistune.create_markdown(escape=True, plugins=["table", "strikethrough"])


def render_markdown(text: str) -> str:
    """Markdown to an HTML fragment, with raw HTML escaped."""
    return _markdown(text)


def brief_html(kit: Kit, links: dict[str, str] | None = None) -> str:
    """The kit's brief as one self-contained, printable HTML page.

    Parameters
    ----------
    kit : Kit
    links : dict, optional
        Labelled links to print in a box under the facts (e.g. the lab and Binder links).

    Returns
    -------
    str
        An HTML document with its CSS inline and nothing loaded from elsewhere.
    """
    e = html.escape
    spec = kit.spec
    facts = [
        ("Audience", spec["audience"]),
        ("Duration", spec["duration"]),
        ("Datasets", ", ".join(spec["datasets"])),
        ("Notebooks", ", ".join(Path(nb).name for nb in spec["notebooks"])),
    ]
    facts_html = "".join(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in facts)
    challenges = "".join(f"<li>{e(q)}</li>" for q in spec["challenges"])
    links_html = ""
    if links:
        items = "".join(
            f'<div class="link">{qr_svg(url, label)}<p><strong>{e(label)}</strong><br><a href="{e(url)}">{e(url)}</a></p></div>'
            for label, url in links.items()
        )
        links_html = f'<section class="links"><h2>Start here</h2>{items}</section>'
    body = render_markdown(kit.brief_path.read_text(encoding="utf-8"))
    return f"""<!DOCTYPE html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(spec["title"])}</title>
<style>{PRINT_CSS}</style>
</head>
<body>
<main>
<h1>{e(spec["title"])}</h1>
<p class="summary">{e(spec["summary"])}</p>
<dl class="facts">{facts_html}</dl>
{links_html}
<section class="challenges"><h2>Challenge questions</h2><ol>{challenges}</ol></section>
<section class="brief">{body}</section>
</main>
<footer>Government Backstage starter kit “{e(kit.name)}”. Data under the Open Government Licence v3.0
unless stated; run <code>govdata.attribution()</code> in any notebook for the full credits.</footer>
</body>
</html>
"""


def qr_svg(url: str, label: str) -> str:
    """An inline SVG QR code of ``url`` (error correction M), for phones in the room to scan."""
    import segno

    return segno.make(url, error="m").svg_inline(scale=2, title=f"QR code: {label}", svgclass="qr")


def find_chromium() -> str:
    """The system Chromium (Debian's), never a downloaded one."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    raise KitError(
        "Chromium is needed to print the brief to PDF but was not found: install it with "
        "`apt-get install chromium` (or run `make install`), or pass --no-pdf."
    )


def html_to_pdf(html_file: Path, pdf_file: Path, timeout_ms: int = 60_000) -> Path:
    """Print an HTML file to A4 PDF with headless Chromium (through Playwright), offline.

    Parameters
    ----------
    html_file, pdf_file : pathlib.Path
    timeout_ms : int
        How long to wait for Chromium to load and print.

    Returns
    -------
    pathlib.Path
        ``pdf_file``.
    """
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    chromium = find_chromium()
    with tempfile.TemporaryDirectory(prefix="backstage-pdf-") as profile, sync_playwright() as p:
        try:
            context = p.chromium.launch_persistent_context(
                profile, executable_path=chromium, args=CHROMIUM_ARGS, headless=True, offline=True
            )
        except PlaywrightError as err:
            raise KitError(f"Could not start {chromium} to print the brief: {err}. Or pass --no-pdf.") from err
        try:
            page = context.new_page()
            page.goto(Path(html_file).resolve().as_uri(), wait_until="load", timeout=timeout_ms)
            page.emulate_media(media="print")
            page.pdf(path=str(pdf_file), format="A4", print_background=True, prefer_css_page_size=True)
        finally:
            context.close()
    log.debug("printed %s to %s", html_file, pdf_file)
    return Path(pdf_file)
