"""Working days in England and Wales: the clock behind a data request's promised answer date.

Bank holidays come from the maintained ``holidays`` library (GB, subdivision ENG: England and Wales
share their bank holidays), never from a list written here; it knows substitute days too (Boxing Day
2026 falls on a Saturday, so Monday 28 December 2026 is a bank holiday).

Examples
--------
>>> from datetime import date
>>> respond_by(date(2026, 12, 18), 20)     # a Friday before Christmas
datetime.date(2027, 1, 20)
>>> is_working_day(date(2027, 3, 26))      # Good Friday
False
"""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays

__all__ = ["LONDON", "bank_holidays", "is_working_day", "london_date", "respond_by", "working_days_between"]

LONDON = ZoneInfo("Europe/London")


@functools.cache
def bank_holidays() -> holidays.HolidayBase:
    """England-and-Wales bank holidays (the library fills each year on first use)."""
    return holidays.country_holidays("GB", subdiv="ENG")


def is_working_day(day: date) -> bool:
    """True for Monday to Friday, except England-and-Wales bank holidays."""
    return day.weekday() < 5 and day not in bank_holidays()


def respond_by(filed: date, working_days: int) -> date:
    """The date *working_days* working days after *filed* (the filing day itself never counts).

    Parameters
    ----------
    filed : datetime.date
        The day the request was filed (in London).
    working_days : int
        How many working days the stewards have; 0 means the filing day itself.
    """
    if working_days < 0:
        raise ValueError(f"working_days must be 0 or more, not {working_days}")
    day = filed
    left = working_days
    while left:
        day += timedelta(days=1)
        if is_working_day(day):
            left -= 1
    return day


def working_days_between(start: date, end: date) -> int:
    """Working days after *start* up to and including *end* (0 when *end* is not after *start*)."""
    count, day = 0, start
    while day < end:
        day += timedelta(days=1)
        count += is_working_day(day)
    return count


def london_date(timestamp: float) -> date:
    """The calendar date in London of a Unix timestamp (a request filed at 23:30 UTC in summer is the next day)."""
    return datetime.fromtimestamp(timestamp, UTC).astimezone(LONDON).date()
