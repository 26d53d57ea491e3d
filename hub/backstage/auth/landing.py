"""Where people land after signing in, and what the hub's home page tells them.

- :func:`landing_url` (for ``JupyterHub.default_url``): officials and reviewers who are not also
  participants land on the gallery (on its own origin), with no JupyterLab started for them;
  organisers who are not participants land on the hub's home page (the waiting sign-ups are
  counted there); everyone else goes to their own lab (the hub's default).
- :func:`spawner_default_url` (for ``Spawner.default_url``): the lab opens on the welcome notebook.
- :func:`home_template_vars` (for ``JupyterHub.template_vars``): ``backstage_home``, with the number of
  waiting sign-ups (shown to approvers) and the servers shared with the person ("Shared with me").
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from backstage.roles import GALLERY_SERVICE

__all__ = ["WELCOME_NOTEBOOK", "HomeView", "SharedServer", "backstage_home", "home_template_vars", "landing_url",
           "spawner_default_url"]

WELCOME_NOTEBOOK = "notebooks/01-welcome.ipynb"
GALLERY_FIRST = ("officials", "reviewers")


def landing_url(handler) -> str:
    """The URL a signed-in person lands on when no ``next`` was asked for ("" = the hub's default)."""
    user = handler.current_user
    if user is None or getattr(user, "orm_user", None) is None or user.admin:
        return ""
    groups = {g.name for g in user.orm_user.groups}
    if "participants" in groups:
        return ""
    gallery = handler.services.get(GALLERY_SERVICE)
    if gallery is not None and groups & set(GALLERY_FIRST):
        # through the gallery's sign-in (its own page shows anyone only the public dashboards)
        return (gallery.host or "") + gallery.prefix + "sign-in"
    if "organisers" in groups:
        return handler.hub.base_url + "home"
    return ""


def spawner_default_url(starter_notebooks: str | os.PathLike) -> str:
    """``/lab/tree/notebooks/01-welcome.ipynb`` when the starter notebooks hold it, else ``/lab``."""
    welcome = Path(starter_notebooks) / Path(WELCOME_NOTEBOOK).name
    return f"/lab/tree/{WELCOME_NOTEBOOK}" if welcome.is_file() else "/lab"


@dataclass(frozen=True)
class SharedServer:
    """A server someone shared with this person (or with one of their groups)."""

    owner: str
    server_name: str
    url: str
    running: bool
    via_group: str | None


class HomeView:
    """What the home page shows one person (computed only when the template asks)."""

    def __init__(self, user):
        self._user = user

    def waiting_signups(self) -> int:
        """How many sign-ups wait for approval (the template shows it to approvers only)."""
        store = getattr(self._user.settings.get("authenticator"), "store", None)
        return len(store.people(approved=False)) if store is not None else 0

    def shared_with_me(self) -> list[SharedServer]:
        """The servers shared with the person, directly or through a group, by owner name."""
        users = self._user.settings.get("users")
        seen, out = set(), []
        for share in self._user.orm_user.all_shared_with_me:
            spawner = share.spawner
            if spawner is None or share.owner is None or share.expired or share.owner.id == self._user.id:
                continue
            key = (share.owner.name, spawner.name)
            if key in seen:
                continue
            seen.add(key)
            owner = users[share.owner] if users is not None else None
            url = owner.server_url(spawner.name) if owner is not None else ""
            out.append(SharedServer(share.owner.name, spawner.name, url, spawner.server is not None,
                                    share.group.name if share.group is not None else None))
        return sorted(out, key=lambda s: (s.owner, s.server_name))


def backstage_home(user) -> HomeView | None:
    """The ``backstage_home`` template variable (the hub calls it with the signed-in user, or None)."""
    return HomeView(user) if user is not None and hasattr(user, "orm_user") else None


def home_template_vars(signup: bool) -> dict:
    """``JupyterHub.template_vars``: ``backstage_signup`` (link to sign-up) and ``backstage_home``."""
    return {"backstage_signup": signup, "backstage_home": backstage_home}
