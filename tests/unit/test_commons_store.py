"""The commons' store: vote caps under concurrency, withdrawals, closed challenges, official responses."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
from backstage.commons import store
from backstage.commons.store import CommonsError
from backstage.web import connect

FUTURE = (date.today() + timedelta(days=30)).isoformat()


@pytest.fixture
def db(tmp_path):
    conn = connect(tmp_path / "commons.sqlite")
    store.init_store(conn)
    yield conn
    conn.close()


def _challenge(db, cap=3, closes=FUTURE):
    return store.create_challenge(db, title="Cleaner air", summary="s", datasets=[], owner="ola", closes=closes,
                                  votes_per_person=cap)


def test_twenty_parallel_votes_of_one_person_against_a_cap_of_three_count_exactly_three(tmp_path, db):
    challenge = _challenge(db, cap=3)
    ideas = [store.create_idea(db, challenge, title=f"idea {i}", summary="s", author="ana") for i in range(20)]
    path = tmp_path / "commons.sqlite"
    results, barrier = [], threading.Barrier(20)

    def cast(idea_id):
        conn = connect(path)  # one connection per request, as separate processes would have
        barrier.wait()
        try:
            results.append(store.vote(conn, idea_id, "ben")["votes_left"])
        except CommonsError as e:
            results.append(e.status)
        finally:
            conn.close()

    threads = [threading.Thread(target=cast, args=(i,)) for i in ideas]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results).count(409) == 17
    assert db.execute("SELECT COUNT(*) FROM votes WHERE voter = 'ben'").fetchone()[0] == 3


def test_a_repeated_vote_changes_nothing_and_a_withdrawal_gives_the_vote_back(db):
    idea = store.create_idea(db, _challenge(db, cap=2), title="t", summary="s", author="ana")
    assert store.vote(db, idea, "ben") == {"votes": 1, "votes_left": 1}
    assert store.vote(db, idea, "ben") == {"votes": 1, "votes_left": 1}
    assert store.vote(db, idea, "ben", withdraw=True) == {"votes": 0, "votes_left": 2}
    assert store.vote(db, idea, "ben", withdraw=True) == {"votes": 0, "votes_left": 2}


def test_a_closed_challenge_takes_no_ideas_and_no_votes(db):
    challenge = _challenge(db)
    idea = store.create_idea(db, challenge, title="t", summary="s", author="ana")
    store.set_challenge_status(db, challenge, "closed")
    with pytest.raises(CommonsError) as e:
        store.create_idea(db, challenge, title="late", summary="s", author="ana")
    assert e.value.status == 409 and "closed" in str(e.value)
    with pytest.raises(CommonsError) as e:
        store.vote(db, idea, "ben")
    assert e.value.status == 409


def test_a_challenge_past_its_closing_date_is_judging():
    assert store.challenge_state({"status": "open", "closes": "2026-01-31"}, today=date(2026, 2, 1)) == "judging"
    assert store.challenge_state({"status": "open", "closes": "2026-01-31"}, today=date(2026, 1, 31)) == "open"


def test_adopted_and_declined_need_a_reason_and_keep_a_public_record(db):
    idea = store.create_idea(db, _challenge(db), title="t", summary="s", author="ana")
    for status in ("adopted", "declined"):
        with pytest.raises(CommonsError, match="give a reason"):
            store.respond(db, idea, status=status, reason="  ", responder="ola")
    with pytest.raises(CommonsError, match="unknown status"):
        store.respond(db, idea, status="won", reason="x", responder="ola")
    done = store.respond(db, idea, status="declined", reason="Already exists", responder="ola")
    assert (done["status"], done["reason"], done["responder"]) == ("declined", "Already exists", "ola")
    assert [r["status"] for r in store.responses(db, done["challenge_id"])] == ["declined"]


def test_a_hidden_idea_keeps_its_votes_takes_no_new_ones_and_leaves_public_lists(db):
    challenge = _challenge(db)
    idea = store.create_idea(db, challenge, title="t", summary="s", author="ana")
    store.vote(db, idea, "ben")
    store.report(db, idea, "cat", "spam")
    with pytest.raises(CommonsError, match="reason"):
        store.hide(db, idea, reason="", moderator="olu")
    store.hide(db, idea, reason="advertising", moderator="olu")
    assert store.get_idea(db, idea)["votes"] == 1
    assert store.list_ideas(db, challenge) == [] and len(store.list_ideas(db, challenge, include_hidden=True)) == 1
    assert store.open_reports(db) == []
    with pytest.raises(CommonsError) as e:
        store.vote(db, idea, "cat")
    assert e.value.status == 409
