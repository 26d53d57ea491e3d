"""The data-request desk on an in-memory SQLite database: filing, validation, me-too, visibility,
answers (and their dataset check), the lab's barrier requests and the figures. No server, no network."""

from __future__ import annotations

import sqlite3
from datetime import date

import pytest
from backstage.commons.requests.desk import LAB_AUTHOR, Desk, Viewer
from backstage.commons.requests.notify import Notifier
from backstage.commons.requests.rules import RequestError
from backstage.commons.requests.store import RequestStore

STEWARD = frozenset({"custom:commons:answer"})
ADA, BEN = Viewer("ada"), Viewer("ben")
ONS_STEWARD, LR_STEWARD, ANY_STEWARD = Viewer("sol", STEWARD), Viewer("lee", STEWARD), Viewer("sam", STEWARD)
BARRIER = {"kind": "barrier", "title": "District IMD link is dead", "body": "The file moved.",
           "dataset": "lad21-region-lookup", "barrier": "broken-link"}


class Clock:
    def __init__(self, day):
        self.day = day

    def __call__(self):
        return self.day


@pytest.fixture
def desk(tmp_path):
    store = RequestStore(sqlite3.connect(":memory:", isolation_level=None))
    broken = {"imd-2019-lad19"}

    def verify(dataset_id):
        if dataset_id in broken:
            raise ValueError("imd2019_la_summaries_lad19_official.csv does not match the catalog's sha256")

    return Desk(store, Notifier(store, tmp_path, None, "http://lab"), verify_dataset=verify,
                steward_publishers={"sol": ["Office for National Statistics"], "lee": ["HM Land Registry"]},
                today=Clock(date(2026, 12, 18)))


def test_filing_a_barrier_request_sets_the_publisher_from_the_catalog_and_the_due_date(desk):
    made = desk.file(ADA, BARRIER)
    assert made == {"id": made["id"], "status": "open", "respond_by": "2027-01-20"}
    got = desk.get(BEN, made["id"])
    assert got["publisher"].startswith("Office for National Statistics")
    assert [e["kind"] for e in got["timeline"]] == ["filed"]
    assert got["overdue"] is False


@pytest.mark.parametrize("body, words", [
    ({**BARRIER, "kind": "complaint"}, "'kind' must be one of"),
    ({**BARRIER, "title": ""}, "'title' is missing"),
    ({**BARRIER, "title": "x" * 1_000_000}, "keep it to 200"),
    ({**BARRIER, "dataset": "imd-2019-lad2"}, "Did you mean"),
    ({**BARRIER, "dataset": "javascript:alert(1)"}, r"neither a govdata catalog id nor an http\(s\) URL"),
    ({**BARRIER, "barrier": "<script>"}, "'barrier' must be one of"),
    ({**BARRIER, "confidential": "yes"}, "true or false"),
    ({**BARRIER, "owner": "ben"}, "unknown field"),
    ({"kind": "new-data", "title": "Ward air quality", "body": "Please", "barrier": "cost"}, "only for kind"),
    ({**BARRIER, "body": ["a"]}, "must be text"),
])
def test_bad_requests_are_refused_naming_the_problem_and_nothing_is_stored(desk, body, words):
    with pytest.raises(RequestError, match=words) as caught:
        desk.file(ADA, body)
    assert caught.value.status == 400
    assert desk.store.all() == []


def test_anonymous_people_cannot_file_or_support(desk):
    with pytest.raises(RequestError) as caught:
        desk.file(Viewer(), BARRIER)
    assert caught.value.status == 403
    made = desk.file(ADA, BARRIER)
    with pytest.raises(RequestError):
        desk.support(Viewer(), made["id"])


def test_me_too_counts_once_per_person_and_can_be_withdrawn(desk):
    made = desk.file(ADA, BARRIER)
    assert desk.support(BEN, made["id"]) == {"supporters": 1}
    assert desk.support(BEN, made["id"]) == {"supporters": 1}
    with pytest.raises(RequestError, match="you asked for this data yourself") as refused:
        desk.support(ADA, made["id"])  # the author: their request already counts
    assert refused.value.status == 400
    assert desk.support(BEN, made["id"], on=False) == {"supporters": 0}


def test_listing_sorts_by_supporters_or_by_due_date(desk):
    first = desk.file(ADA, BARRIER)["id"]
    desk.today.day = date(2027, 3, 24)
    second = desk.file(ADA, {**BARRIER, "title": "Another"})["id"]
    desk.support(BEN, second)
    assert [i["id"] for i in desk.listing(BEN)] == [second, first]
    assert [i["id"] for i in desk.listing(BEN, sort="due")] == [first, second]
    assert [i["id"] for i in desk.listing(BEN, status="overdue")] == [first]


def test_confidential_request_is_seen_only_by_its_author_and_its_publishers_stewards(desk):
    made = desk.file(ADA, {**BARRIER, "confidential": True})
    for viewer in (ADA, ONS_STEWARD, ANY_STEWARD):
        assert desk.get(viewer, made["id"])["confidential"] is True
    for viewer in (BEN, LR_STEWARD, Viewer()):
        with pytest.raises(RequestError) as caught:
            desk.get(viewer, made["id"])
        assert caught.value.status == 404
        assert made["id"] not in [i["id"] for i in desk.listing(viewer)]
    with pytest.raises(RequestError) as caught:
        desk.support(BEN, made["id"])
    assert caught.value.status == 404


def test_only_stewards_of_the_publisher_answer(desk):
    made = desk.file(ADA, BARRIER)
    for viewer in (ADA, BEN, LR_STEWARD):
        with pytest.raises(RequestError) as caught:
            desk.answer(viewer, made["id"], {"status": "in-progress", "message": "on it"})
        assert caught.value.status == 403
    got = desk.answer(ONS_STEWARD, made["id"], {"status": "in-progress", "message": "on it"})
    assert got["status"] == "in-progress"
    assert got["timeline"][-1] == {"at": got["timeline"][-1]["at"], "actor": "sol", "kind": "answer",
                                   "status": "in-progress", "message": "on it", "dataset": ""}


@pytest.mark.parametrize("answer, words", [
    ({"status": "released", "message": "done"}, "needs 'dataset'"),
    ({"status": "released", "dataset": "no-such-data"}, "must name a govdata catalog id"),
    ({"status": "already-available", "dataset": "imd-2019-lad19"}, "does not load and verify"),
    ({"status": "cannot-release", "message": ""}, "'message' is missing"),
    ({"status": "open"}, "'status' must be one of"),
])
def test_bad_answers_are_refused_and_change_nothing(desk, answer, words):
    made = desk.file(ADA, BARRIER)
    with pytest.raises(RequestError, match=words):
        desk.answer(ANY_STEWARD, made["id"], answer)
    got = desk.get(ADA, made["id"])
    assert got["status"] == "open" and len(got["timeline"]) == 1


def test_released_answer_tells_the_author_and_supporters_but_not_the_steward(desk):
    made = desk.file(ADA, BARRIER)
    desk.support(BEN, made["id"])
    desk.answer(ANY_STEWARD, made["id"], {"status": "released", "message": "Fixed.", "dataset": "lad21-region-lookup"})
    for person in ("ada", "ben"):
        (update,) = desk.store.updates_for(person)
        assert "Released" in update["subject"] and "lad21-region-lookup" in update["text"]
        assert update["link"] == f"/services/commons/requests/{made['id']}"
    assert desk.store.updates_for("sam") == []
    assert desk.get(ADA, made["id"])["overdue"] is False


def test_the_lab_opens_one_barrier_request_per_broken_dataset(desk):
    first, new = desk.lab_barrier("lad21-region-lookup", "hash mismatch")
    assert new
    again, new = desk.lab_barrier("lad21-region-lookup", "hash mismatch")
    assert (again, new) == (first, False)
    assert len(desk.store.events(first)) == 1
    desk.lab_barrier("lad21-region-lookup", "now missing")
    assert [e["message"] for e in desk.store.events(first)][-1] == "now missing"
    assert desk.get(ADA, first)["author"] == LAB_AUTHOR
    desk.answer(ANY_STEWARD, first, {"status": "released", "dataset": "lad21-region-lookup"})
    third, new = desk.lab_barrier("lad21-region-lookup", "broken again")
    assert new and third != first


def test_figures_count_open_overdue_and_median_days_without_confidential_titles(desk):
    a = desk.file(ADA, BARRIER)["id"]
    desk.file(ADA, {**BARRIER, "title": "Secret", "confidential": True})
    desk.support(BEN, a)
    desk.today.day = date(2027, 2, 1)
    figures = desk.figures()
    assert figures["requests"] == 1 and figures["open"] == 1 and figures["overdue"] == 1
    assert figures["most_supported"][0]["title"] == BARRIER["title"]
    assert "Secret" not in str(figures)
    assert figures["median_working_days_to_first_answer"] is None
