"""``POST /hub/api/backstage/enrol``: organisers enrol an event's attendees (used by ``backstage kit enrol``).

Body ``{"group": "event-<slug>", "attendees": [{"username", "name", "email"}, ...]}``. Every entry is
checked first; any mistake gives 400 listing each bad entry and nothing is created. A name with a
sign-up still waiting for approval is such a mistake: enrolling it would hand the account to whoever
typed that name at the sign-up page (the organiser rejects that sign-up, or enrols another name).
Otherwise missing people get an approved sign-up with a fresh password and a hub account, and
everyone joins ``participants`` and the event's group. Re-running is harmless. Passwords are never logged.
"""

from __future__ import annotations

import json
import logging
import re

from jupyterhub import orm
from jupyterhub.apihandlers import APIHandler
from tornado import web

from backstage.auth.signup import hashing
from backstage.auth.store import PendingSignup
from backstage.roles import ENROL_SCOPE
from backstage.usernames import validate_username

log = logging.getLogger(__name__)

GROUP_PATTERN = re.compile(r"^event-[a-z0-9][a-z0-9-]{0,40}$")

__all__ = ["EnrolAPIHandler", "GROUP_PATTERN", "check_enrolment"]


def check_enrolment(body: object) -> tuple[str, list[tuple[str, str, str]], list[dict]]:
    """Validate an enrolment body: ``(group, [(username, name, email)], errors)``."""
    errors: list[dict] = []
    if not isinstance(body, dict):
        return "", [], [{"index": None, "reason": "the body must be a JSON object with 'group' and 'attendees'"}]
    group = body.get("group")
    if not isinstance(group, str) or not GROUP_PATTERN.match(group):
        errors.append({"index": None, "field": "group",
                       "reason": f"group {group!r} must look like 'event-<slug>' (a-z, 0-9, '-', up to 46 characters)"})
    attendees = body.get("attendees")
    if not isinstance(attendees, list) or not attendees:
        errors.append({"index": None, "field": "attendees", "reason": "attendees must be a non-empty list"})
        return group or "", [], errors
    people, seen = [], set()
    for index, entry in enumerate(attendees):
        if not isinstance(entry, dict):
            errors.append({"index": index, "reason": "each attendee must be an object with 'username'"})
            continue
        try:
            username = validate_username(entry.get("username"))
        except ValueError as e:
            errors.append({"index": index, "username": entry.get("username"), "reason": str(e)})
            continue
        if username in seen:
            errors.append({"index": index, "username": username, "reason": f"{username!r} is listed twice"})
            continue
        seen.add(username)
        name, email = entry.get("name") or "", entry.get("email") or ""
        if not isinstance(name, str) or not isinstance(email, str) or len(name) > 200 or len(email) > 200:
            errors.append({"index": index, "username": username, "reason": "name and email must be text (200 characters at most)"})
            continue
        people.append((username, name, email))
    return group or "", people, errors


class EnrolAPIHandler(APIHandler):
    """Enrol attendees into an event group (scope ``custom:backstage:enrol``)."""

    async def post(self):
        if self.current_user is None:
            raise web.HTTPError(403, "Missing or invalid credentials.")
        if not self.has_scope(ENROL_SCOPE):
            raise web.HTTPError(403, f"Enrolling attendees needs the scope {ENROL_SCOPE} (the organiser role).")
        try:
            body = json.loads(self.request.body or b"")
        except ValueError:
            body = None
            errors = [{"index": None, "reason": "the body is not valid JSON"}]
        else:
            group_name, people, errors = check_enrolment(body)
            errors += self._accounts_with_a_role(people)
        if errors:
            self.set_status(400)
            self.finish({"status": 400, "message": "Nothing was enrolled: fix these entries and retry.",
                         "errors": errors})
            return
        try:
            created_passwords = await hashing(self.authenticator.store.add_many, people)
        except PendingSignup as pending:
            self.set_status(400)
            index = {u: i for i, (u, _, _) in enumerate(people)}
            self.finish({"status": 400, "message": "Nothing was enrolled: fix these entries and retry.", "errors": [
                {"index": index[u], "username": u,
                 "reason": f"{u!r} has a sign-up waiting for approval, made by whoever typed that name at the "
                           "sign-up page: reject it at /hub/signups if it is not your attendee's, or enrol "
                           "another name"} for u in pending.usernames]})
            return
        participants = self._group("participants")
        event = self._group(group_name)
        for username, _, _ in people:
            user = self.user_from_username(username)
            await _maybe(self.authenticator.add_user(user))
            for group in (participants, event):
                if group not in user.orm_user.groups:
                    user.orm_user.groups.append(group)
        self.db.commit()
        log.info("%s enrolled %d people into %s (%d new)", self.current_user.name, len(people), group_name,
                 len(created_passwords))
        self.finish({
            "group": group_name,
            "created": [{"username": u, "password": p} for u, p in created_passwords.items()],
            "existing": [u for u, _, _ in people if u not in created_passwords],
        })

    def _accounts_with_a_role(self, people) -> list[dict]:
        """Entries naming an account with a role (admin, or a group beyond the event's) that has no
        sign-up: enrolling would hand the organiser a fresh password for it."""
        from backstage.auth.event import is_event_group

        errors = []
        for index, (username, _, _) in enumerate(people):
            user = orm.User.find(self.db, name=username)
            if user is None or self.authenticator.store.get(username) is not None:
                continue
            if user.admin or username in self.authenticator.admin_users or any(
                    not is_event_group(g.name) for g in user.groups):
                errors.append({"index": index, "username": username,
                               "reason": f"{username!r} already has an account with a role and no password of "
                                         "ours: enrolling it would give you its password. Enrol another name, or "
                                         "ask the admin."})
        return errors

    def _group(self, name: str) -> orm.Group:
        group = orm.Group.find(self.db, name)
        if group is None:
            group = orm.Group(name=name)
            self.db.add(group)
            self.db.commit()
        return group


async def _maybe(value):
    if hasattr(value, "__await__"):
        return await value
    return value
