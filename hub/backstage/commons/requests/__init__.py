"""Data requests and data-access problems, asked and answered in public (issue 13; contract 7).

A feature of the commons service (registered in ``backstage.commons.app.FEATURES``): people file
``new-data`` or ``barrier`` requests, others press "me too", stewards answer within a promised number of
working days, everyone reads the timeline and the Atom feed, and the lab itself files a barrier request
when a published dashboard's data stops verifying (``backstage data check``, and daily in the service).
"""

from .desk import LAB_AUTHOR, Desk, Viewer
from .rules import BARRIERS, KINDS, STATUSES, RequestError
from .store import RequestStore
from .workdays import respond_by

__all__ = ["BARRIERS", "KINDS", "LAB_AUTHOR", "STATUSES", "Desk", "RequestError", "RequestStore", "Viewer",
           "init_store", "respond_by", "routes"]


def init_store(db) -> None:
    """Create the requests' tables in the commons database."""
    RequestStore(db)


def routes(prefix: str) -> list[tuple]:
    """The pages, the feed and the JSON API of data requests under the commons' *prefix*."""
    from . import api, feed, pages

    n = r"([0-9]{1,12})"
    return [
        (prefix + "requests", pages.RequestsPage),
        (prefix + "requests/new", pages.NewRequestPage),
        (prefix + "requests/figures", pages.FiguresPage),
        (prefix + "requests/feed.atom", feed.FeedHandler),
        (prefix + rf"requests/{n}", pages.RequestPage),
        (prefix + rf"requests/{n}/support", pages.SupportPage),
        (prefix + rf"requests/{n}/answer", pages.AnswerPage),
        (prefix + "updates", pages.UpdatesPage),
        (prefix + "api/requests", api.RequestsAPIHandler),
        (prefix + "api/requests/figures", api.FiguresAPIHandler),
        (prefix + r"api/requests/([^/]+)", api.RequestAPIHandler),
        (prefix + r"api/requests/([^/]+)/support", api.SupportAPIHandler),
        (prefix + r"api/requests/([^/]+)/answer", api.AnswerAPIHandler),
        (prefix + "api/updates", api.UpdatesAPIHandler),
        (prefix + "api/data-problems", api.DataProblemsAPIHandler),
    ]
