"""Beijing time: the one place that knows times are stored in UTC and shown in UTC+8.

China has used a single offset, UTC+8 (Asia/Shanghai, no daylight saving since 1991), for
every date a counter shows or counts by: service days, certificate years, "held since",
watermarks. A fixed offset is used instead of the tz database so that a counter PC without
tzdata still counts days correctly.
"""

from __future__ import annotations

import datetime as dt

BEIJING = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")
"""UTC+8, the zone every shown date and time is in."""
OFFSET_MS = 8 * 3_600_000
"""The Beijing offset in milliseconds (for day arithmetic on epoch milliseconds)."""


def utcnow() -> dt.datetime:
    """The current time as an aware UTC datetime."""
    return dt.datetime.now(dt.UTC)


def beijing(moment: dt.datetime) -> dt.datetime:
    """``moment`` (aware; a naive value is taken as UTC) in Beijing time."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(BEIJING)


def today(now: dt.datetime | None = None) -> dt.date:
    """The Beijing calendar date of ``now`` (aware; default: the current time)."""
    return beijing(now or utcnow()).date()


def local_date(moment: dt.datetime | None) -> str:
    """An aware time as a Beijing date "YYYY-MM-DD" ("" for None)."""
    return beijing(moment).date().isoformat() if moment else ""


def local_time(moment: dt.datetime | None, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    """An aware time as Beijing wall-clock text in ``fmt`` (strftime) ("" for None)."""
    return beijing(moment).strftime(fmt) if moment else ""


def storage_text(moment: dt.datetime | None) -> str | None:
    """A stored time as UTC ISO 8601 text with microseconds, for hashing (SQLite gives times
    back without an offset, PostgreSQL with one; a naive value is UTC). None for None."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds")


def day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The Beijing calendar ``day`` as a half-open UTC interval [start, end)."""
    start = dt.datetime.combine(day, dt.time(0), tzinfo=BEIJING).astimezone(dt.UTC)
    return start, start + dt.timedelta(days=1)


def at(day: dt.date, hour: int = 0, minute: int = 0, second: int = 0) -> dt.datetime:
    """The Beijing wall-clock time ``day hour:minute:second`` as an aware UTC datetime."""
    return dt.datetime(
        day.year, day.month, day.day, hour, minute, second, tzinfo=BEIJING
    ).astimezone(dt.UTC)
