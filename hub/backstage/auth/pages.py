"""The sign-up page (``/hub/signup``) and the approval page (``/hub/signups``), both XSRF-protected forms.

On the approval page an organiser (or the admin) approves a sign-up *with a role* (the person joins
that role's group and gets a hub account at once, so the admin page knows them before their first
sign-in), rejects it, or gives a role to someone approved who has not signed in yet. What an
approver may give is :func:`backstage.auth.grants.grantable_roles`.
"""

from __future__ import annotations

import logging

from jupyterhub import orm
from jupyterhub.handlers import BaseHandler
from tornado import web

from backstage.auth.grants import ROLE_GROUPS, grantable_roles
from backstage.auth.signup import hashing
from backstage.auth.store import DuplicateSignup
from backstage.roles import APPROVE_SIGNUPS_SCOPE
from backstage.usernames import validate_username

log = logging.getLogger(__name__)

__all__ = ["SignupHandler", "SignupsHandler"]


class SignupHandler(BaseHandler):
    """Anyone may ask for an account; it waits for approval unless the lab is open."""

    async def get(self):
        self.finish(await self.render_template("signup.html", errors=[], form={}, done=None))

    async def post(self):
        self.check_xsrf_cookie()
        form = {k: self.get_body_argument(k, "", strip=True) for k in ("username", "name", "email")}
        password = self.get_body_argument("password", "")
        confirm = self.get_body_argument("password_confirm", "")
        errors = []
        try:
            form["username"] = validate_username(form["username"])
        except ValueError as e:
            errors.append(str(e))
            form["username"] = form["username"][:64]
        minimum, maximum = self.authenticator.min_password_length, self.authenticator.max_password_length
        if len(password) < minimum:
            errors.append(f"the password is shorter than {minimum} characters: choose a longer one")
        elif len(password) > maximum:
            errors.append(f"the password is longer than {maximum} characters: choose a shorter one")
        elif password != confirm:
            errors.append("the two passwords differ: type the same password twice")
        if len(form["name"]) > 200 or len(form["email"]) > 200:
            errors.append("the name and email may be at most 200 characters each")
            form["name"], form["email"] = form["name"][:200], form["email"][:200]
        if not errors and orm.User.find(self.db, name=form["username"]) is not None:
            # an account the admin or an enrolment made (no sign-up of its own): never let a stranger's
            # sign-up claim it, even waiting for approval
            errors.append(f"the username {form['username']!r} is already taken: choose another")
        if not errors:
            open_signup = self.authenticator.open_signup
            try:
                await hashing(self.authenticator.store.add, form["username"], password, approved=open_signup,
                              name=form["name"], email=form["email"])
            except DuplicateSignup as e:
                errors.append(str(e))
        if errors:
            self.set_status(400)
            self.finish(await self.render_template("signup.html", errors=errors, form=form, done=None))
            return
        log.info("New sign-up %r (%s)", form["username"], "open" if open_signup else "waiting for approval")
        self.finish(await self.render_template("signup.html", errors=[], form=form,
                                               done="approved" if open_signup else "waiting"))


class SignupsHandler(BaseHandler):
    """Organisers (and the admin) approve sign-ups with a role, reject them, and give roles."""

    def _check(self):
        if not self.has_scope(APPROVE_SIGNUPS_SCOPE):
            raise web.HTTPError(403, "Approving sign-ups needs the organiser role: ask the lab's admin.")

    @property
    def _grantable(self) -> list[str]:
        return grantable_roles(bool(self.current_user.admin))

    async def _render(self, message=None, status=200, error=False):
        self.set_status(status)
        store = self.authenticator.store
        self.finish(await self.render_template(
            "signups.html", waiting=store.people(approved=False), approved=store.people(approved=True),
            message=message, error=error, roles=self._grantable, role_groups=ROLE_GROUPS))

    @web.authenticated
    async def get(self):
        self._check()
        await self._render()

    @web.authenticated
    async def post(self):
        self.check_xsrf_cookie()
        self._check()
        action = self.get_body_argument("action", "")
        username = self.get_body_argument("username", "", strip=True).lower()
        role = self.get_body_argument("role", "participant")
        store = self.authenticator.store
        if action not in ("approve", "reject", "grant"):
            await self._render(f"Unknown action {action!r}: use approve, reject or grant.", 400, error=True)
            return
        if action != "reject" and role not in self._grantable:
            await self._render(f"You may not give the role {role!r}: you may give "
                               f"{', '.join(self._grantable)} (only the admin makes organisers).", 403, error=True)
            return
        if action == "reject":
            # only a waiting sign-up: an approved account (the admin's too) is never removed from here
            person = store.get(username)
            if person is None or person.approved or not store.remove(username):
                await self._render(f"There is no waiting sign-up named {username!r}.", 404, error=True)
                return
            log.info("%s rejected the sign-up of %r", self.current_user.name, username)
            await self._render(f"Rejected {username}.")
            return
        if action == "approve":
            person = store.get(username)
            if person is None or person.approved:
                await self._render(f"There is no waiting sign-up named {username!r}.", 404, error=True)
                return
            if orm.User.find(self.db, name=username) is not None:
                await self._render(
                    f"An account named {username!r} already exists (made by the admin or an enrolment), so this "
                    "sign-up is someone else's claim to it: reject it.", 409, error=True)
                return
            store.approve(username)
        else:
            person = store.get(username)
            if (person is None or not person.approved) and orm.User.find(self.db, name=username) is None:
                await self._render(
                    f"There is no approved sign-up or account named {username!r}: ask them to sign up at "
                    "/hub/signup, then approve it here with the role.", 404, error=True)
                return
        await self._join(username, ROLE_GROUPS[role])
        log.info("%s %s %r as %s", self.current_user.name, "approved" if action == "approve" else "gave a role to",
                 username, role)
        done = "Approved" if action == "approve" else "Gave the role"
        await self._render(f"{done} {username}: {role} (group {ROLE_GROUPS[role]}).")

    async def _join(self, username: str, group_name: str) -> None:
        """Make ``username`` a hub user (if new) and a member of ``group_name``."""
        user = self.user_from_username(username)
        added = self.authenticator.add_user(user)
        if hasattr(added, "__await__"):
            await added
        group = orm.Group.find(self.db, group_name)
        if group is None:
            group = orm.Group(name=group_name)
            self.db.add(group)
        if group not in user.orm_user.groups:
            user.orm_user.groups.append(group)
        self.db.commit()
