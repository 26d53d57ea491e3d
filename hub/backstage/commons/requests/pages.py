"""The data requests' pages: the list, "Ask for data", a request with its timeline, me-too and the
stewards' answer form, the figures, and "Your updates". Forms post to the page itself (XSRF-protected
by the hub-auth layer) and work without JavaScript; a refused form is shown again with what was typed.
"""

from __future__ import annotations

from urllib.parse import urlencode

from tornado import web

from ..base import CommonsPageHandler
from .api import RequestsMixin, answer
from .rules import BARRIERS, KINDS, STATUSES, RequestError

STATUS_TAGS = {"open": "govuk-tag--blue", "in-progress": "govuk-tag--yellow", "scheduled": "govuk-tag--purple",
               "released": "govuk-tag--green", "already-available": "govuk-tag--green",
               "cannot-release": "govuk-tag--red", "not-a-request": "govuk-tag--grey"}


class RequestsPageHandler(RequestsMixin, CommonsPageHandler):
    def page_namespace(self) -> dict:
        ns = super().page_namespace()
        p = self.commons.prefix
        extra = [("Data requests", p + "requests")]
        if self.current_user:
            unseen = self.desk.store.unseen_count(self.current_user["name"])
            extra.append((f"Your updates ({unseen} new)" if unseen else "Your updates", p + "updates"))
        nav = [item for item in ns.get("nav", []) if item[1] != p + "updates"]  # with its count of new ones here
        at = next((i for i, (label, _) in enumerate(nav) if label in ("My lab", "Sign in")), len(nav))
        ns["nav"] = nav[:at] + [item for item in extra if item not in nav] + nav[at:]
        ns.update(kinds=KINDS, barriers=BARRIERS, statuses=STATUSES, status_tags=STATUS_TAGS,
                  steward=self.viewer.is_steward, working_days=self.desk.working_days)
        return ns

    def form(self, *names: str) -> dict:
        return {n: self.get_body_argument(n, "") for n in names}


class RequestsPage(RequestsPageHandler):
    def get(self):
        sort = self.get_argument("sort", "supporters")
        sort = sort if sort in ("supporters", "due") else "supporters"
        status = self.get_argument("status", "")
        status = status if status in STATUSES or status == "overdue" else ""
        mine = self.get_argument("for", "") == "me" and self.viewer.is_steward
        items = self.desk.listing(self.viewer, sort="due" if mine else sort, status=status, mine_to_answer=mine)
        self.render_page("requests_list.html", items=items, sort=sort, shown=status, mine=mine,
                         query=lambda **kw: urlencode({k: v for k, v in kw.items() if v}))


class NewRequestPage(RequestsPageHandler):
    @web.authenticated
    def get(self):
        kind = self.get_argument("kind", "")
        self.render_page("requests_new.html", values={"kind": kind if kind in KINDS else "",
                                                      "dataset": self.get_argument("dataset", "")[:200]},
                         error=None, publishers=self.publishers())

    def post(self):
        self.require_user()
        values = self.form("kind", "title", "body", "publisher", "dataset", "barrier", "confidential")
        body = {k: v for k, v in values.items() if v and k != "confidential"}
        body["confidential"] = values["confidential"] == "yes"
        if values["kind"] != "barrier":
            body.pop("barrier", None)
        try:
            made = self.desk.file(self.viewer, body)
        except RequestError as e:
            self.render_page("requests_new.html", status=e.status, values=values, error=str(e),
                             publishers=self.publishers())
            return
        self.redirect(f"{self.commons.prefix}requests/{made['id']}?filed=1", status=303)

    @staticmethod
    def publishers() -> list[str]:
        from govdata.catalog import catalog_entries

        return sorted({e.publisher for e in catalog_entries()})


class RequestPage(RequestsPageHandler):
    def get(self, request_id):
        self.show(request_id)

    def show(self, request_id, *, error: str | None = None, status: int = 200, values: dict | None = None):
        try:
            item = self.desk.get(self.viewer, request_id)
        except RequestError as e:
            raise web.HTTPError(e.status, str(e)) from None
        self.render_page("requests_detail.html", status=status, item=item, error=error, values=values or {},
                         filed=self.get_argument("filed", "") == "1",
                         answered=self.get_argument("answered", "") == "1")


class SupportPage(RequestsPageHandler):
    def post(self, request_id):
        self.require_user()
        on = self.get_body_argument("action", "support") != "withdraw"
        self.act(self.desk.support, self.viewer, request_id, on)
        self.redirect(f"{self.commons.prefix}requests/{int(request_id)}", status=303)


class AnswerPage(RequestPage):
    async def post(self, request_id):
        self.require_user()
        values = self.form("status", "message", "dataset")
        try:
            await answer(self, request_id, values)
        except web.HTTPError as e:
            if e.status_code == 404:
                raise
            self.show(request_id, error=e.log_message, status=e.status_code, values=values)
            return
        self.redirect(f"{self.commons.prefix}requests/{int(request_id)}?answered=1", status=303)


class FiguresPage(RequestsPageHandler):
    def get(self):
        self.render_page("requests_figures.html", figures=self.desk.figures())


class UpdatesPage(RequestsPageHandler):
    @web.authenticated
    def get(self):
        name = self.current_user["name"]
        updates = self.desk.store.updates_for(name)
        self.render_page("requests_updates.html", updates=updates)
        self.desk.store.mark_seen(name)
