"""The sign-up page (``/hub/signup``) and the approval page (``/hub/signups``), both XSRF-protected forms."""

from __future__ import annotations

import logging

from jupyterhub.handlers import BaseHandler
from tornado import web

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
        minimum = self.authenticator.min_password_length
        if len(password) < minimum:
            errors.append(f"the password is shorter than {minimum} characters: choose a longer one")
        elif password != confirm:
            errors.append("the two passwords differ: type the same password twice")
        if len(form["name"]) > 200 or len(form["email"]) > 200:
            errors.append("the name and email may be at most 200 characters each")
        if not errors:
            open_signup = self.authenticator.open_signup
            try:
                self.authenticator.store.add(form["username"], password, approved=open_signup,
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
    """Organisers (and the admin) approve or reject waiting sign-ups."""

    def _check(self):
        if not self.has_scope(APPROVE_SIGNUPS_SCOPE):
            raise web.HTTPError(403, "Approving sign-ups needs the organiser role.")

    async def _render(self, message=None, status=200):
        self.set_status(status)
        store = self.authenticator.store
        self.finish(await self.render_template("signups.html", waiting=store.people(approved=False),
                                               approved=store.people(approved=True), message=message))

    @web.authenticated
    async def get(self):
        self._check()
        await self._render()

    @web.authenticated
    async def post(self):
        self.check_xsrf_cookie()
        self._check()
        action = self.get_body_argument("action", "")
        username = self.get_body_argument("username", "")
        store = self.authenticator.store
        if action not in ("approve", "reject"):
            await self._render(f"Unknown action {action!r}: use approve or reject.", 400)
            return
        done = store.approve(username) if action == "approve" else store.remove(username)
        if not done:
            await self._render(f"There is no sign-up named {username!r}.", 404)
            return
        log.info("%s %sd the sign-up of %r", self.current_user.name, action, username)
        await self._render(f"{'Approved' if action == 'approve' else 'Rejected'} {username}.")
