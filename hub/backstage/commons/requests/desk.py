"""The data-request desk: filing, me-too, stewards' answers and who may see what (contract 7).

It takes plain data (a `Viewer`, a dict body) and returns plain data, so the web handlers, the
``backstage data check`` command and the tests call the same code. Visibility: a public request is
readable by anyone who may read the commons; a confidential one only by its author and the stewards
of its publisher (everyone else gets "not found", so its existence does not leak).

Stewards may be limited to some publishers with the site setting ``requests.stewards``, e.g.
``{stewards: {ada: ["Office for National Statistics"], bo: ["HM Land Registry", "Department for Transport"]}}``:
a steward listed there sees and answers the requests whose publisher starts with one of those names
(case ignored); a steward not listed (and the admin) answers for every publisher.
"""

from __future__ import annotations

import logging
import statistics
import time
from dataclasses import dataclass, field
from datetime import date

from .rules import FINAL_STATUSES, NEEDS_DATASET, STATUSES, RequestError, check_answer, check_new_request
from .store import RequestStore
from .workdays import london_date, respond_by, working_days_between

log = logging.getLogger(__name__)

__all__ = ["LAB_AUTHOR", "Desk", "Viewer"]

ANSWER_SCOPE = "custom:commons:answer"
LAB_AUTHOR = "the lab (data check)"


@dataclass(frozen=True)
class Viewer:
    """Who is asking: a hub user's name and scopes (anonymous: ``name=None``)."""

    name: str | None = None
    scopes: frozenset = field(default_factory=frozenset)

    @property
    def is_steward(self) -> bool:
        return ANSWER_SCOPE in self.scopes

    @classmethod
    def from_hub_user(cls, model: dict | None) -> Viewer:
        if not model:
            return cls()
        return cls(model.get("name"), frozenset(model.get("scopes") or ()))


class Desk:
    """Data requests over a `RequestStore`.

    Parameters
    ----------
    store : RequestStore
    notifier : Notifier or None
        Tells authors and supporters what changed (None: nobody is told, as in unit tests).
    working_days : int
        Working days the stewards have to answer (``requests.working_days``, default 20).
    steward_publishers : dict
        ``{steward: [publisher name, ...]}`` limits (``requests.stewards``).
    catalog_lookup : callable
        ``govdata.info``: an id to an entry with ``id`` and ``publisher``, raising ``KeyError`` when unknown.
    verify_dataset : callable
        ``id -> None`` that raises with a message when the catalog id does not load and verify.
    prefix : str
        The commons' URL prefix, for links in updates (``/services/commons/``).
    today : callable
        Today's date in London (a parameter so tests can move the clock).
    """

    def __init__(self, store: RequestStore, notifier=None, *, working_days: int = 20, steward_publishers=None,
                 catalog_lookup=None, verify_dataset=None, prefix: str = "/services/commons/", today=None):
        import govdata

        self.store = store
        self.notifier = notifier
        self.working_days = working_days
        self.steward_publishers = {k: [p.casefold() for p in v] for k, v in (steward_publishers or {}).items()}
        self.catalog_lookup = catalog_lookup or govdata.info
        self.verify_dataset = verify_dataset or (lambda dataset_id: govdata.fetch(dataset_id))
        self.prefix = prefix
        self.today = today or (lambda: london_date(time.time()))
        self.pending_mail: list = []

    # -- who may do what ------------------------------------------------------------------------
    def covers(self, viewer: Viewer, item: dict) -> bool:
        """True when *viewer* is a steward for *item*'s publisher."""
        if not viewer.is_steward:
            return False
        limits = self.steward_publishers.get(viewer.name)
        if limits is None:
            return True
        publisher = (item.get("publisher") or "").casefold()
        return any(publisher.startswith(p) for p in limits)

    def may_see(self, viewer: Viewer, item: dict) -> bool:
        if not item["confidential"]:
            return True
        return bool(viewer.name) and (item["author"] == viewer.name or self.covers(viewer, item))

    def _get(self, viewer: Viewer, request_id) -> dict:
        try:
            request_id = int(request_id)
        except (TypeError, ValueError):
            raise RequestError(f"{str(request_id)[:40]!r} is not a request number", 404) from None
        item = self.store.get(request_id)
        if item is None or not self.may_see(viewer, item):
            raise RequestError(f"no data request {request_id} that you may see: check the number in the list", 404)
        return item

    # -- views ----------------------------------------------------------------------------------
    def link(self, request_id: int) -> str:
        return f"{self.prefix}requests/{request_id}"

    def overdue(self, item: dict, today: date | None = None) -> bool:
        today = today or self.today()
        return item["first_answer"] is None and today > date.fromisoformat(item["respond_by"])

    def view(self, item: dict, viewer: Viewer, *, timeline: bool = False) -> dict:
        out = {k: item[k] for k in ("id", "kind", "title", "body", "publisher", "dataset", "barrier", "confidential",
                                     "author", "status", "respond_by", "supporters", "answer_dataset")}
        out["filed"] = item["filed"]
        out["overdue"] = self.overdue(item)
        out["url"] = self.link(item["id"])
        out["status_label"] = STATUSES[item["status"]]
        if viewer.name:
            out["supported"] = self.store.supports(item["id"], viewer.name)
            out["can_answer"] = self.covers(viewer, item)
        if timeline:
            out["timeline"] = [{k: e[k] for k in ("at", "actor", "kind", "status", "message", "dataset")}
                               for e in self.store.events(item["id"])]
        return out

    def get(self, viewer: Viewer, request_id) -> dict:
        return self.view(self._get(viewer, request_id), viewer, timeline=True)

    def listing(self, viewer: Viewer, *, sort: str = "supporters", mine_to_answer: bool = False,
                status: str = "") -> list[dict]:
        """Requests *viewer* may see; ``sort`` is ``supporters`` (most first) or ``due`` (oldest due first)."""
        items = [i for i in self.store.all() if self.may_see(viewer, i)]
        if mine_to_answer:
            items = [i for i in items if self.covers(viewer, i) and i["status"] not in FINAL_STATUSES]
        if status:
            items = [i for i in items if i["status"] == status or (status == "overdue" and self.overdue(i))]
        if sort == "due":
            items.sort(key=lambda i: (i["status"] in FINAL_STATUSES, i["respond_by"], i["id"]))
        else:
            items.sort(key=lambda i: (-i["supporters"], i["respond_by"], i["id"]))
        return [self.view(i, viewer) for i in items]

    # -- writes ---------------------------------------------------------------------------------
    def file(self, viewer: Viewer, body: dict) -> dict:
        """File a request: ``{"id", "status": "open", "respond_by"}``."""
        if not viewer.name:
            raise RequestError("sign in to file a data request", 403)
        clean = check_new_request(body, self.catalog_lookup)
        return self._file(viewer.name, clean)

    def _file(self, author: str, clean: dict) -> dict:
        due = respond_by(self.today(), self.working_days).isoformat()
        request_id = self.store.add(clean, author, due)
        log.info("data request %d filed by %s (%s)", request_id, author, clean["kind"])
        return {"id": request_id, "status": "open", "respond_by": due}

    def support(self, viewer: Viewer, request_id, on: bool = True) -> dict:
        if not viewer.name:
            raise RequestError("sign in to support a data request", 403)
        item = self._get(viewer, request_id)
        if on and item["author"] == viewer.name:
            raise RequestError("you asked for this data yourself: your request already counts, and you hear of "
                               "every answer; ask others who need it to press 'Me too'", 400)
        count = (self.store.support if on else self.store.withdraw)(item["id"], viewer.name)
        return {"supporters": count}

    def answer(self, viewer: Viewer, request_id, body: dict) -> dict:
        """A steward's answer: a status and a public message; it tells the author and the supporters."""
        item, clean = self.prepare_answer(viewer, request_id, body)
        self.verify_answer(clean)
        return self.record_answer(viewer, item, clean)

    def prepare_answer(self, viewer: Viewer, request_id, body: dict) -> tuple[dict, dict]:
        """Check who answers and what (no file is read): ``(request, clean answer)``, or `RequestError`."""
        item = self._get(viewer, request_id)
        if not self.covers(viewer, item):
            who = "stewards" if not viewer.is_steward else f"stewards of {item['publisher'] or 'this publisher'}"
            raise RequestError(f"only {who} may answer this request (scope {ANSWER_SCOPE})", 403)
        clean = check_answer(body)
        if clean["status"] in NEEDS_DATASET:
            try:
                clean["dataset"] = self.catalog_lookup(clean["dataset"]).id
            except KeyError as e:
                message = e.args[0] if e.args else str(e)
                raise RequestError(f"'{clean['status']}' must name a govdata catalog id: {message}") from None
        return item, clean

    def verify_answer(self, clean: dict) -> None:
        """For ``released``/``already-available``: the named dataset must load and verify (reads the file;
        a server calls this in a worker thread)."""
        if clean["status"] not in NEEDS_DATASET:
            return
        try:
            self.verify_dataset(clean["dataset"])
        except Exception as e:  # any failure to load or verify refuses the answer, with the cause
            raise RequestError(
                f"'{clean['status']}' names {clean['dataset']!r}, but it does not load and verify: {e}. Fix the "
                "catalog entry (URL and sha256) or the mirror, then answer again; nothing was changed.") from None

    def record_answer(self, viewer: Viewer, item: dict, clean: dict) -> dict:
        self.store.set_status(item["id"], viewer.name, clean["status"], clean["message"], clean["dataset"],
                              answer=True)
        changed = clean["status"] != item["status"]
        label = STATUSES[clean["status"]]
        subject = f"Data request {item['id']}: {label}" if changed else f"Data request {item['id']}: a new answer"
        text = f"{viewer.name} answered '{item['title']}'" + (f" ({label})" if changed else "")
        text += f": {clean['message']}" if clean["message"] else "."
        if clean["dataset"]:
            text += f" Dataset: {clean['dataset']} (govdata.load({clean['dataset']!r}))."
        self._tell(item, viewer.name, "answer", subject, text)
        return self.get(viewer, item["id"])

    def _tell(self, item: dict, actor: str, kind: str, subject: str, text: str) -> None:
        if self.notifier is None:
            return
        people = {item["author"], *self.store.supporters(item["id"])} - {actor, LAB_AUTHOR}
        if item["confidential"]:
            people &= {item["author"]}
        mail = self.notifier.tell(people, kind=kind, subject=subject, text=text, link=self.link(item["id"]))
        if mail:
            self.pending_mail.append((mail, subject, text, self.link(item["id"])))

    def alert(self, person: str, *, subject: str, text: str, link: str) -> None:
        """A data alert for one person (a dashboard's owner): an in-app update and, queued, an e-mail."""
        if self.notifier is None:
            return
        mail = self.notifier.tell({person}, kind="data-alert", subject=subject, text=text, link=link)
        if mail:
            self.pending_mail.append((mail, subject, text, link))

    def send_pending_mail(self) -> int:
        """Send the e-mails queued by the last writes (blocking; a server runs it in a thread)."""
        sent = 0
        while self.pending_mail:
            mail, subject, text, link = self.pending_mail.pop(0)
            sent += self.notifier.send(mail, subject=subject, text=text, link=link)
        return sent

    # -- the lab's own barrier requests (data check) --------------------------------------------
    def lab_barrier(self, dataset_id: str, problem: str) -> tuple[int, bool]:
        """Open a barrier request against *dataset_id* filed by the lab, or add to the open one.

        Returns ``(request id, True when it was new)``; never two open lab requests for one dataset.
        """
        existing = self.store.open_request_by(LAB_AUTHOR, "barrier", dataset_id)
        if existing:
            last = self.store.events(existing["id"])[-1]
            if (last["message"] or existing["body"]) != problem:
                self.store.set_status(existing["id"], LAB_AUTHOR, existing["status"], problem, "", answer=False)
                self._tell(existing, LAB_AUTHOR, "data-alert", f"Data request {existing['id']}: still failing",
                           problem)
            return existing["id"], False
        entry = self.catalog_lookup(dataset_id)
        clean = {"kind": "barrier", "title": f"{entry.title}: the published file no longer verifies",
                 "body": problem, "publisher": entry.publisher, "dataset": entry.id, "barrier": "broken-link",
                 "confidential": False}
        return self._file(LAB_AUTHOR, clean)["id"], True

    # -- figures --------------------------------------------------------------------------------
    def figures(self) -> dict:
        """Open, overdue, median working days to a first answer, most supported, by publisher (public requests)."""
        items = [i for i in self.store.all() if not i["confidential"]]
        today = self.today()
        days = [working_days_between(london_date(i["filed"]), london_date(i["first_answer"]))
                for i in items if i["first_answer"] is not None]
        by_publisher: dict[str, dict] = {}
        for i in items:
            row = by_publisher.setdefault(i["publisher"] or "(not named)", {"requests": 0, "open": 0, "overdue": 0})
            row["requests"] += 1
            row["open"] += i["status"] not in FINAL_STATUSES
            row["overdue"] += self.overdue(i, today)
        top = sorted(items, key=lambda i: (-i["supporters"], i["id"]))[:10]
        wanted: dict[str, int] = {}
        for i in items:
            if i["dataset"]:
                wanted[i["dataset"]] = wanted.get(i["dataset"], 0) + 1 + i["supporters"]
        return {
            "requests": len(items),
            "open": sum(i["status"] not in FINAL_STATUSES for i in items),
            "overdue": sum(self.overdue(i, today) for i in items),
            "median_working_days_to_first_answer": statistics.median(days) if days else None,
            "most_supported": [{"id": i["id"], "title": i["title"], "supporters": i["supporters"],
                                "url": self.link(i["id"])} for i in top if i["supporters"]],
            "most_asked_datasets": sorted(({"dataset": k, "asks": v} for k, v in wanted.items()),
                                          key=lambda d: -d["asks"])[:10],
            "by_publisher": [{"publisher": k, **v} for k, v in sorted(by_publisher.items())],
        }
