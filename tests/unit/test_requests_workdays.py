"""Working days across Christmas and Easter, against dates worked out by hand from the published
England-and-Wales bank holidays (gov.uk/bank-holidays): 2026-12-25 Fri Christmas Day, 2026-12-28 Mon
Boxing Day (substitute day), 2027-01-01 Fri New Year's Day, 2027-03-26 Good Friday, 2027-03-29 Easter Monday."""

from __future__ import annotations

from datetime import date

import pytest
from backstage.commons.requests.workdays import is_working_day, london_date, respond_by, working_days_between


def test_request_filed_on_friday_18_december_2026_is_due_on_20_january_2027():
    # Dec 21-24 (4), Dec 25 + 28 bank holidays, Dec 29-31 (7), Jan 1 holiday, Jan 4-8 (12),
    # Jan 11-15 (17), Jan 18-20 (20)
    assert respond_by(date(2026, 12, 18), 20) == date(2027, 1, 20)


def test_request_filed_on_wednesday_24_march_2027_is_due_on_23_april_2027():
    # Mar 25 (1), Good Friday 26 and Easter Monday 29 skipped, Mar 30 - Apr 2 (5), Apr 5-9 (10),
    # Apr 12-16 (15), Apr 19-23 (20)
    assert respond_by(date(2027, 3, 24), 20) == date(2027, 4, 23)


@pytest.mark.parametrize("day, working", [
    (date(2026, 12, 24), True),
    (date(2026, 12, 25), False),   # Christmas Day
    (date(2026, 12, 26), False),   # Saturday (Boxing Day itself)
    (date(2026, 12, 28), False),   # Boxing Day, substitute day
    (date(2026, 12, 29), True),
    (date(2027, 1, 1), False),     # New Year's Day
    (date(2027, 3, 26), False),    # Good Friday
    (date(2027, 3, 29), False),    # Easter Monday
    (date(2027, 3, 30), True),
    (date(2027, 4, 3), False),     # a Saturday
])
def test_working_days_skip_weekends_and_bank_holidays(day, working):
    assert is_working_day(day) is working


def test_a_request_filed_on_a_weekend_counts_from_monday():
    assert respond_by(date(2027, 4, 3), 1) == date(2027, 4, 5)
    assert respond_by(date(2027, 4, 3), 0) == date(2027, 4, 3)


def test_working_days_between_counts_what_respond_by_added():
    assert working_days_between(date(2026, 12, 18), date(2027, 1, 20)) == 20
    assert working_days_between(date(2027, 3, 24), date(2027, 4, 23)) == 20
    assert working_days_between(date(2027, 4, 23), date(2027, 3, 24)) == 0


def test_negative_working_days_are_refused():
    with pytest.raises(ValueError, match="0 or more"):
        respond_by(date(2027, 1, 4), -1)


def test_filing_date_is_the_london_date():
    # 2027-06-30 23:30 UTC is 00:30 on 1 July in London (BST)
    assert london_date(1814398200.0) == date(2027, 7, 1)
