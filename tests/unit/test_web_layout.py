"""The lab's one layout (backstage.web.layout): who sees which link, the phase banner from the site settings."""

from __future__ import annotations

import pytest
from backstage.hubconfig import build_config
from backstage.settings import SettingsError, load_settings, validate_settings
from backstage.web.layout import Site, layout_namespace

HOST = "http://localhost:8000"
SERVICES = ["idle-culler", "share", "commons", "gallery"]


def site(**settings) -> Site:
    return Site.from_settings({"commons": {"public": True}, **settings}, SERVICES, HOST)


def labels(items) -> list[str]:
    return [item.label for item in items]


@pytest.mark.parametrize(("signed_in", "public", "expected"), [
    (False, True, ["Commons", "Gallery", "Sign in"]),
    (False, False, ["Sign in"]),  # a closed lab shows anonymous visitors nothing to read
    (True, True, ["Commons", "Gallery", "My lab", "Share", "Sign out"]),
    (True, False, ["Commons", "Gallery", "My lab", "Share", "Sign out"]),
])
def test_the_navigation_lists_only_what_the_person_may_use(signed_in, public, expected):
    assert labels(site(commons={"public": public}).nav(signed_in=signed_in)) == expected


def test_a_lab_without_a_gallery_does_not_link_to_one():
    without = Site.from_settings({}, ["share", "commons"], HOST)
    assert labels(without.nav(signed_in=True)) == ["Commons", "My lab", "Share", "Sign out"]


def test_the_current_section_is_marked_and_its_own_pages_follow_it():
    items = site().nav(signed_in=True, current="commons", section=[("Challenges", "/c"), ("Data requests", "/r")])
    assert labels(items) == ["Commons", "Challenges", "Data requests", "Gallery", "My lab", "Share", "Sign out"]
    assert [item.label for item in items if item.current] == ["Commons"]
    hub = site().nav(signed_in=True, current=None, section=[("Tokens", "/t")], section_key="lab")
    assert labels(hub)[2:4] == ["My lab", "Tokens"] and not any(item.current for item in hub)


def test_links_point_at_each_part_on_its_own_origin():
    hrefs = {item.label: item.href for item in site().nav(signed_in=True)}
    # the services open to read know a signed-in person once they pass their sign-in: the links go through it
    assert hrefs == {"Commons": "http://commons--service.localhost:8000/services/commons/sign-in?next=/services/commons/",
                     "Gallery": "http://gallery--service.localhost:8000/services/gallery/sign-in?next=/services/gallery/",
                     "My lab": f"{HOST}/hub/home", "Share": "http://share--service.localhost:8000/services/share/",
                     "Sign out": f"{HOST}/hub/logout"}
    anonymous = {i.label: i.href for i in site().nav(signed_in=False, sign_in_url="/services/commons/sign-in?next=/")}
    assert anonymous["Sign in"] == "/services/commons/sign-in?next=/"
    assert anonymous["Commons"] == "http://commons--service.localhost:8000/services/commons/"


def test_the_phase_banner_and_footer_come_from_the_site_settings():
    default = layout_namespace(site(), user_name=None, assets="/hub/")
    assert default["phase_tag"] == "Beta"
    assert default["feedback_url"] == "http://commons--service.localhost:8000/services/commons/requests/new?kind=barrier"
    assert default["footer_links"] == [("Cookies", f"{HOST}/hub/cookies"), ("Privacy", f"{HOST}/hub/privacy"),
                                       ("Accessibility", f"{HOST}/hub/accessibility"),
                                       ("House rules", f"{HOST}/hub/house-rules")]
    own = layout_namespace(site(phase={"tag": "Alpha", "feedback_url": "https://forms.example.org/lab"}),
                           user_name="ada", assets="/hub/")
    assert (own["phase_tag"], own["feedback_url"]) == ("Alpha", "https://forms.example.org/lab")


def test_the_services_read_the_same_site_as_the_hub(tmp_path):
    settings = load_settings({"BACKSTAGE_STATE": str(tmp_path)})
    settings["phase"] = {"tag": "Alpha", "feedback_url": "mailto:lab@example.org"}
    c = build_config(settings)
    hub_site = c.JupyterHub.template_vars["backstage_layout"].site
    for service in c.JupyterHub.services:
        assert Site.from_environ(service["environment"]) == hub_site, service["name"]
    assert hub_site.feedback_url == "mailto:lab@example.org"


@pytest.mark.parametrize("bad", [{"feedback_url": "javascript:alert(1)"}, {"tag": ""}, {"colour": "red"}])
def test_a_bad_phase_setting_is_refused_with_the_key_named(bad):
    with pytest.raises(SettingsError, match="phase"):
        validate_settings({"phase": bad}, "settings.yaml")
