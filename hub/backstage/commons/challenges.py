"""The JSON API of challenges, ideas, votes and official responses (contract 7)."""

from __future__ import annotations

from datetime import date

from tornado import web

from . import catalog, lineage, store
from .base import CommonsAPIHandler
from .store import CommonsError

MAX_TITLE = 200
MAX_TEXT = 20_000


def init_store(db) -> None:
    store.init_store(db)


def _text(body: dict, key: str, limit: int, *, required: bool = True) -> str:
    value = body.get(key, "")
    if not isinstance(value, str):
        raise CommonsError(f'"{key}" must be text')
    value = value.strip()
    if required and not value:
        raise CommonsError(f'"{key}" is empty: write a {key}')
    if len(value) > limit:
        raise CommonsError(f'"{key}" is {len(value)} characters long: shorten it to {limit} or fewer')
    return value


def validate_challenge(body: dict) -> dict:
    """The fields of a new challenge, checked; a ``CommonsError`` names the field and the fix."""
    closes = body.get("closes", "")
    try:
        closes_date = date.fromisoformat(closes) if isinstance(closes, str) else None
    except ValueError:
        closes_date = None
    if closes_date is None:
        raise CommonsError(f'"closes" must be a date as YYYY-MM-DD, e.g. 2027-03-31 (got {str(closes)[:40]!r})')
    if closes_date < date.today():
        raise CommonsError(f'"closes" ({closes}) is in the past: pick a date from today on')
    votes = body.get("votes_per_person", 10)
    if isinstance(votes, str) and votes.strip().isdigit():
        votes = int(votes)
    if not isinstance(votes, int) or isinstance(votes, bool) or not 1 <= votes <= 100:
        raise CommonsError('"votes_per_person" must be a whole number from 1 to 100 (default 10)')
    kit = body.get("kit") or None
    if kit is not None and (not isinstance(kit, str) or len(kit) > 100):
        raise CommonsError('"kit" must be the name of a hack-day kit, e.g. clean-air')
    kit = catalog.check_kit(kit.strip() if kit else None)
    return {"title": _text(body, "title", MAX_TITLE), "summary": _text(body, "summary", MAX_TEXT),
            "datasets": catalog.check_datasets(body.get("datasets", [])), "closes": closes_date.isoformat(),
            "votes_per_person": votes, "kit": kit}


def validate_idea(body: dict) -> dict:
    return {"title": _text(body, "title", MAX_TITLE), "summary": _text(body, "summary", MAX_TEXT)}


def may_respond(handler, challenge: dict) -> bool:
    """The challenge's owner (who posted it) and admins set the status of its ideas."""
    user = handler.current_user
    return bool(user) and (user["name"] == challenge["owner"] or bool(user.get("admin")))


def may_see_idea(handler, idea: dict) -> bool:
    user = handler.current_user
    return not idea["hidden"] or (bool(user) and (user["name"] == idea["author"] or handler.is_moderator()))


def idea_view(idea: dict, dashboards: list[dict]) -> dict:
    return {
        "id": idea["id"], "challenge": idea["challenge_id"], "title": idea["title"], "summary": idea["summary"],
        "author": idea["author"], "votes": idea["votes"], "status": idea["status"], "reason": idea["reason"],
        "responder": idea["responder"], "responded_at": idea["responded_at"], "hidden": bool(idea["hidden"]),
        "prototypes": [d["url"] for d in lineage.prototypes_for(dashboards, idea["id"])],
    }


def challenge_view(commons, challenge: dict, ideas: list[dict] | None = None, dashboards=()) -> dict:
    view = {k: challenge[k] for k in ("id", "title", "summary", "datasets", "owner", "closes", "votes_per_person",
                                      "kit", "created")}
    view["status"] = challenge["state"]
    view["url"] = f"{commons.prefix}challenges/{challenge['id']}"
    if ideas is not None:
        view["ideas"] = [idea_view(i, list(dashboards)) for i in ideas]
    return view


class ChallengeAPIBase(CommonsAPIHandler):
    def idea(self, idea_id: str) -> dict:
        idea = store.get_idea(self.db, int(idea_id))
        if not may_see_idea(self, idea):
            raise CommonsError(f"there is no idea {idea_id}", 404)
        return idea


class ChallengesAPI(ChallengeAPIBase):
    def get(self):
        self.write_json({"challenges": [challenge_view(self.commons, c) for c in store.list_challenges(self.db)]})

    def post(self):
        user = self.require_scope(self.commons.challenges_scope, "organisers and officials")
        fields = validate_challenge(self.json_body())
        challenge_id = store.create_challenge(self.db, owner=user["name"], **fields)
        self.write_json({"id": challenge_id, "url": f"{self.commons.prefix}challenges/{challenge_id}"}, 201)


class ChallengeAPI(ChallengeAPIBase):
    async def get(self, challenge_id):
        challenge = store.get_challenge(self.db, int(challenge_id))
        ideas = store.list_ideas(self.db, challenge["id"])
        self.write_json(challenge_view(self.commons, challenge, ideas, await lineage.dashboards_for(self.commons, self.current_user)))


class ChallengeStatusAPI(ChallengeAPIBase):
    """``{"status": "open" | "judging" | "closed"}``: the challenge's owner opens judging or closes it."""

    def post(self, challenge_id):
        self.require_user()
        challenge = store.get_challenge(self.db, int(challenge_id))
        if not may_respond(self, challenge):
            raise web.HTTPError(403, f"only the challenge's owner ({challenge['owner']}) may change its status")
        store.set_challenge_status(self.db, challenge["id"], self.json_body().get("status"))
        self.write_json(challenge_view(self.commons, store.get_challenge(self.db, challenge["id"])))


class IdeasAPI(ChallengeAPIBase):
    def post(self, challenge_id):
        user = self.require_user()
        fields = validate_idea(self.json_body())
        idea_id = store.create_idea(self.db, int(challenge_id), author=user["name"], **fields)
        self.write_json({"id": idea_id, "url": f"{self.commons.prefix}ideas/{idea_id}"}, 201)


class IdeaAPI(ChallengeAPIBase):
    async def get(self, idea_id):
        self.write_json(idea_view(self.idea(idea_id), await lineage.dashboards_for(self.commons, self.current_user)))


class VoteAPI(ChallengeAPIBase):
    def post(self, idea_id):
        user = self.require_user()
        self.idea(idea_id)
        self.write_json(store.vote(self.db, int(idea_id), user["name"]))

    def delete(self, idea_id):
        user = self.require_user()
        self.idea(idea_id)
        self.write_json(store.vote(self.db, int(idea_id), user["name"], withdraw=True))


class StatusAPI(ChallengeAPIBase):
    def post(self, idea_id):
        user = self.require_user()
        idea = self.idea(idea_id)
        challenge = store.get_challenge(self.db, idea["challenge_id"])
        if not may_respond(self, challenge):
            raise web.HTTPError(403, f"only the challenge's owner ({challenge['owner']}) may set an idea's status")
        body = self.json_body()
        reason = body.get("reason") or ""
        if not isinstance(reason, str) or len(reason) > MAX_TEXT:
            raise CommonsError(f'"reason" must be text of up to {MAX_TEXT} characters')
        idea = store.respond(self.db, int(idea_id), status=body.get("status"), reason=reason, responder=user["name"])
        self.write_json({"id": idea["id"], "status": idea["status"], "reason": idea["reason"],
                         "responder": idea["responder"], "responded_at": idea["responded_at"]})


def routes(prefix: str) -> list[tuple]:
    p = prefix + "api/"
    return [
        (p + "challenges", ChallengesAPI),
        (p + r"challenges/(\d{1,12})", ChallengeAPI),
        (p + r"challenges/(\d{1,12})/ideas", IdeasAPI),
        (p + r"challenges/(\d{1,12})/status", ChallengeStatusAPI),
        (p + r"ideas/(\d{1,12})", IdeaAPI),
        (p + r"ideas/(\d{1,12})/vote", VoteAPI),
        (p + r"ideas/(\d{1,12})/status", StatusAPI),
    ]
