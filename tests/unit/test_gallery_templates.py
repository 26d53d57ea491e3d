"""The gallery page's empty states, rendered by the same autoescaping Jinja environment as the service."""

from __future__ import annotations

import pytest
from backstage.gallery import app as gallery_app
from backstage.web.layout import Site, layout_namespace
from markupsafe import Markup
from tornado.escape import xhtml_escape

ENV = gallery_app.jinja_env()
LAYOUT = {"service_name": "Dashboard gallery", "nav": [],
          "layout": layout_namespace(Site(hub_url="/hub/", gallery_url="/services/gallery/"), user_name="official",
                                     assets="/services/gallery/", current="gallery", service_name="Dashboard gallery")}


def xsrf_html(token: str):
    """What PageHandler.render_page passes: tornado's xsrf_form_html(), marked safe."""
    return lambda: Markup(f'<input type="hidden" name="_xsrf" value="{xhtml_escape(token)}"/>')


def render_gallery(items=(), total=0, q="", **extra):
    return ENV.get_template("gallery.html").render(
        user={"name": "official"}, reviewer=False, prefix="/services/gallery/", xsrf_html=xsrf_html(""),
        status_tags={}, **LAYOUT, hub_prefix="/hub/", items=list(items), total=total, q=q,
        topics=[], datasets=[], topic="", dataset="", **extra,
    )


@pytest.mark.parametrize(
    ("total", "expected", "not_expected"),
    [
        (0, "No dashboard has been published yet", "Clear the filters"),
        (3, "Clear the filters to see them all", "published yet"),
    ],
)
def test_an_empty_gallery_says_why_it_is_empty(total, expected, not_expected):
    html = render_gallery(total=total)
    assert expected in html
    assert not_expected not in html


def test_the_search_text_is_escaped_on_the_gallery_page():
    html = render_gallery(total=1, q='"><script>alert(1)</script>')
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;" in html


def _render_submission(**extra):
    item = {"id": "a" * 32, "version": 1, "title": "Squares", "status": "awaiting-review", "summary": "", "author": "ann",
            "topics": [], "checks": {}, "datasets": [], "comments": [], "idea": 12, "slug": "squares"}
    return ENV.get_template("submission.html").render(
        user={"name": "rev"}, reviewer=True, prefix="/services/gallery/", xsrf_html=xsrf_html("2|ab&cd|ef"),
        status_tags={}, **LAYOUT, hub_prefix="/hub/", item=item, has_preview=True, has_thumbnail=False,
        max_text_lines=40, commons_url="http://commons--service.localhost:8000/services/commons/", **extra)


def test_the_review_forms_carry_a_real_xsrf_field_and_the_warnings_are_shown_escaped():
    html = _render_submission(warnings=["Cell 2 ('<script>') submits to the gallery"])
    assert html.count('<input type="hidden" name="_xsrf" value="2|ab&amp;cd|ef"/>') == 2  # approve, send back
    assert "&lt;script&gt;" in html and "<script>" not in html.split("</head>")[1].replace("<script src=", "")
    assert 'id="review-warnings"' in html
    assert 'href="http://commons--service.localhost:8000/services/commons/ideas/12">Idea 12 in the commons' in html
    assert 'id="review-warnings"' not in _render_submission(warnings=[])


def test_gallery_pages_use_the_shared_layout_with_the_gallerys_styles():
    html = render_gallery()
    assert "<title>Dashboards – Dashboard gallery</title>" in html
    assert 'href="/services/gallery/govuk/govuk-frontend.css"' in html  # served by backstage.web.asset_routes
    assert 'src="/services/gallery/web/supported.js"' in html
    assert 'href="/services/gallery/static/gallery.css"' in html
    assert "licences named on each card" in html.split("<footer")[1]


def test_a_card_names_the_idea_and_its_challenge_and_marks_a_data_problem():
    """Issue 12: the card shows the idea and challenge it answers; issue 13: a broken dataset marks it."""
    item = {"id": "a" * 32, "slug": "pay-gap", "title": "Pay gap", "summary": "", "author": "ada", "version": 1,
            "published_at": 1_790_000_000, "idea": 7, "topics": [], "datasets": []}
    ideas = {7: {"title": "Map <the> gap", "challenge": {"id": 3, "title": "Fairer pay"}}}
    problems = {"pay-gap": {"since": 1_795_000_000, "request_ids": [12]}}
    html = render_gallery([item], total=1, ideas=ideas, problems=problems, commons_url="/services/commons/")
    assert 'href="/services/commons/ideas/7">The idea “Map &lt;the&gt; gap”</a>' in html
    assert 'href="/services/commons/challenges/3">Fairer pay</a>' in html
    assert "Data problem since" in html and 'href="/services/commons/requests/12"' in html
    plain = render_gallery([item], total=1, commons_url="/services/commons/")  # the commons did not answer
    assert "Idea 7 in the commons" in plain and "Data problem" not in plain
