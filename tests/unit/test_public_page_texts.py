"""The public-service pages' texts (backstage.public_pages): replaceable, filled from the settings, rendered safely."""

from __future__ import annotations

import copy

import pytest
from backstage.hubconfig import build_config
from backstage.public_pages import (
    PAGES,
    PublicPageHandler,
    TextError,
    markdown_html,
    public_handlers,
    render_text,
    text_path,
)
from backstage.settings import DEFAULTS, SettingsError, validate_settings


def context(**privacy):
    return {"privacy": {**DEFAULTS["privacy"], **privacy}, "accessibility": DEFAULTS["accessibility"],
            "sign_in": "signup", "services": ["commons", "gallery", "share"]}


def settings(**overrides):
    return {**copy.deepcopy(DEFAULTS), "state_dir": "/srv/lab", **overrides}


def test_every_page_has_a_default_text_whose_first_heading_is_its_title():
    for name, title in PAGES.items():
        html = render_text(name, None, **context())
        assert html.startswith(f'<h1 class="govuk-heading-xl">{title}</h1>'), name


def test_a_site_text_of_the_same_name_wins_and_the_others_stay(tmp_path):
    (tmp_path / "house-rules.md").write_text("# House rules\n\nBe excellent to each other.\n")
    assert text_path("house-rules", str(tmp_path)) == tmp_path / "house-rules.md"
    assert "Be excellent to each other." in render_text("house-rules", str(tmp_path), **context())
    assert "ICO" in render_text("privacy", str(tmp_path), **context())  # no privacy.md there: the default


@pytest.mark.parametrize("hostile, absent", [
    ("<script>alert(1)</script>", "<script"),
    ('<img src=x onerror="alert(1)">', "<img"),
    ("[click](javascript:alert(1))", "javascript:"),
    ("<a href='https://evil.example' style='position:fixed'>x</a>", "<a href='https://evil"),
])
def test_raw_html_and_unsafe_links_in_a_text_or_a_setting_are_not_markup(tmp_path, hostile, absent):
    (tmp_path / "house-rules.md").write_text(f"# House rules\n\n{hostile}\n")
    assert absent not in render_text("house-rules", str(tmp_path), **context())
    assert absent not in render_text("privacy", None, **context(controller=hostile))


def test_tables_stack_on_phones_with_each_cell_labelled_by_its_column():
    html = markdown_html('| Name | What it is <b>"for"</b> |\n|---|---|\n| `a` | b |\n| c | d |\n')
    assert '<table class="govuk-table bk-stack-table">' in html
    assert html.count('data-label="Name"') == 2
    assert html.count('data-label="What it is &lt;b&gt;&#34;for&#34;&lt;/b&gt;"') == 2  # escaped, once


def test_a_text_cannot_reach_python_through_its_placeholders(tmp_path):
    (tmp_path / "cookies.md").write_text("# Cookies\n\n{{ privacy.__class__.__mro__[1].__subclasses__() }}\n")
    with pytest.raises(TextError, match="cookies.md"):
        render_text("cookies", str(tmp_path), **context())


def test_a_text_naming_an_unknown_setting_says_which_file_and_which_names_exist(tmp_path):
    (tmp_path / "privacy.md").write_text("# Privacy notice\n\n{{ privacy.controler }}\n")
    with pytest.raises(TextError) as e:
        render_text("privacy", str(tmp_path), **context())
    assert str(tmp_path / "privacy.md") in str(e.value) and "privacy" in str(e.value) and "fix the text" in str(e.value)


def test_the_privacy_notice_shows_the_site_settings_and_says_what_is_not_set():
    html = render_text("privacy", None, **context(controller="Department for Data, 1 Horse Guards Road"))
    assert "Department for Data, 1 Horse Guards Road" in html
    assert "Not set yet: the site sets privacy.contact" in html
    assert 'href="https://ico.org.uk/make-a-complaint/"' in html


def test_the_cookies_page_lists_the_one_login_state_cookie_only_when_one_login_signs_people_in():
    assert "oauthenticator-state" not in render_text("cookies", None, **context())
    assert "oauthenticator-state" in render_text("cookies", None, **{**context(), "sign_in": "oidc"})
    assert "service-gallery" not in render_text("cookies", None, **{**context(), "services": ["commons", "share"]})


def test_the_hub_serves_the_four_pages_with_the_site_settings_and_a_texts_folder_in_the_state_folder():
    c = build_config(settings(texts_dir="texts", privacy={**DEFAULTS["privacy"], "contact": "dpo@example.org"},
                              isolation="users", lab_id="x", gallery=False))
    pages = {path: kwargs for path, handler, kwargs in c.JupyterHub.extra_handlers[:4]}
    assert set(pages) == {"/cookies", "/privacy", "/accessibility", "/house-rules"}
    assert all(handler is PublicPageHandler for _, handler, _ in c.JupyterHub.extra_handlers[:4])
    assert pages["/privacy"]["texts_dir"] == "/srv/lab/texts"
    assert pages["/privacy"]["context"]["privacy"]["contact"] == "dpo@example.org"
    assert public_handlers(settings())[0][2]["texts_dir"] is None


def test_privacy_settings_are_checked_against_the_schema():
    validate_settings({"privacy": {"controller": "Department for Data"}, "texts_dir": "texts"})
    with pytest.raises(SettingsError, match="privacy"):
        validate_settings({"privacy": {"controler": "typo"}})
