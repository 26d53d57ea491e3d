"""Data requests and data-access problems, asked and answered in public (issue 13; contract 7).

A part of the commons service: people file ``new-data`` or ``barrier`` requests, others press "me too",
stewards answer within a promised number of working days, everyone reads the timeline and the feed,
and the lab itself files a barrier request when a published dashboard's data stops verifying.
"""

from .desk import LAB_AUTHOR, Desk, Viewer
from .rules import BARRIERS, KINDS, STATUSES, RequestError
from .store import RequestStore
from .workdays import respond_by

__all__ = ["BARRIERS", "KINDS", "LAB_AUTHOR", "STATUSES", "Desk", "RequestError", "RequestStore", "Viewer",
           "respond_by"]
