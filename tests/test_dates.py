"""Dates as front matter writes them, durations as the config writes them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

import pytest

from syndicate.dates import isoformat, parse_date, parse_duration

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
PLUS_2 = timezone(timedelta(hours=2))
MINUS_7 = timezone(timedelta(hours=-7))


# (input, site zone, expected wall time, expected UTC offset)
PARSED = [
    ("2026-04-10", UTC, datetime(2026, 4, 10), timedelta(0)),
    ("2026-4-9", UTC, datetime(2026, 4, 9), timedelta(0)),
    ("2026-04-10 09:30", UTC, datetime(2026, 4, 10, 9, 30), timedelta(0)),
    ("2026-04-10 09:30:00 +0200", UTC, datetime(2026, 4, 10, 9, 30), timedelta(hours=2)),
    ("2026-04-10 09:30:00 +02:00", UTC, datetime(2026, 4, 10, 9, 30), timedelta(hours=2)),
    ("2026-04-10T09:30:00Z", BERLIN, datetime(2026, 4, 10, 9, 30), timedelta(0)),
    (
        "2026-04-10T09:30:00.123456-07:00",
        UTC,
        datetime(2026, 4, 10, 9, 30, 0, 123456),
        timedelta(hours=-7),
    ),
    ("2026-04-10 09:30:00 UTC", BERLIN, datetime(2026, 4, 10, 9, 30), timedelta(0)),
    ("2026-04-10 09:30:00 GMT", BERLIN, datetime(2026, 4, 10, 9, 30), timedelta(0)),
    ("  2026-04-10 09:30  ", UTC, datetime(2026, 4, 10, 9, 30), timedelta(0)),
    ("2026-04-10 9:05", UTC, datetime(2026, 4, 10, 9, 5), timedelta(0)),
    # Naive values take the site's zone, with that day's offset.
    ("2026-07-01 10:00", BERLIN, datetime(2026, 7, 1, 10, 0), timedelta(hours=2)),
    ("2026-01-15 10:00", BERLIN, datetime(2026, 1, 15, 10, 0), timedelta(hours=1)),
    ("2026-07-01", BERLIN, datetime(2026, 7, 1), timedelta(hours=2)),
    ("2026-01-15", NEW_YORK, datetime(2026, 1, 15), timedelta(hours=-5)),
    # An explicit offset wins over the site's zone.
    ("2026-01-15 10:00 +0530", BERLIN, datetime(2026, 1, 15, 10, 0), timedelta(hours=5.5)),
]


@pytest.mark.parametrize(
    ("text", "zone", "wall", "offset"), PARSED, ids=[f"{p[0].strip()}@{p[1]}" for p in PARSED]
)
def test_parse_date_strings(text: str, zone: tzinfo, wall: datetime, offset: timedelta) -> None:
    parsed = parse_date(text, zone)
    assert parsed.tzinfo is not None
    assert parsed.replace(tzinfo=None) == wall
    assert parsed.utcoffset() == offset


def test_naive_value_keeps_the_site_zone_itself() -> None:
    # The zone object is kept (not a fixed offset), so arithmetic stays correct.
    assert parse_date("2026-07-01 10:00", BERLIN).tzinfo is BERLIN


OBJECTS = [
    ("date", date(2026, 7, 1), BERLIN, datetime(2026, 7, 1, tzinfo=BERLIN)),
    ("date-winter", date(2026, 1, 15), BERLIN, datetime(2026, 1, 15, tzinfo=BERLIN)),
    (
        "naive-datetime",
        datetime(2026, 7, 1, 10, 0),
        BERLIN,
        datetime(2026, 7, 1, 10, 0, tzinfo=BERLIN),
    ),
    (
        "aware-datetime",
        datetime(2026, 7, 1, 10, 0, tzinfo=MINUS_7),
        BERLIN,
        datetime(2026, 7, 1, 10, 0, tzinfo=MINUS_7),
    ),
    (
        "aware-utc",
        datetime(2026, 7, 1, 10, 0, tzinfo=UTC),
        NEW_YORK,
        datetime(2026, 7, 1, 10, 0, tzinfo=UTC),
    ),
]


@pytest.mark.parametrize(
    ("value", "zone", "expected"), [o[1:] for o in OBJECTS], ids=[o[0] for o in OBJECTS]
)
def test_parse_date_objects(value: date, zone: tzinfo, expected: datetime) -> None:
    parsed = parse_date(value, zone)
    assert parsed == expected
    assert parsed.utcoffset() == expected.utcoffset()
    assert parsed.replace(tzinfo=None) == expected.replace(tzinfo=None)


BAD_DATES = [
    ("word", "tomorrow"),
    ("month-13", "2026-13-01"),
    ("feb-30", "2026-02-30"),
    ("int", 12),
    ("none", None),
    ("bool", True),
    ("float", 2026.5),
    ("list", ["2026-04-10"]),
    ("empty", ""),
    ("hour-25", "2026-04-10 25:00"),
    ("minute-60", "2026-04-10 09:60"),
    ("offset-hours", "2026-04-10 09:30:00 +2500"),
    ("offset-minutes", "2026-04-10 09:30:00 +0260"),
    ("year-0", "0000-01-01"),
    ("no-dashes", "20260410"),
    ("trailing-text", "2026-04-10 at noon"),
]


@pytest.mark.parametrize("value", [b[1] for b in BAD_DATES], ids=[b[0] for b in BAD_DATES])
def test_parse_date_rejects(value: object) -> None:
    with pytest.raises(ValueError) as caught:
        parse_date(value, UTC)
    message = str(caught.value)
    assert message.startswith("expected a date like 2026-04-10")
    assert repr(value) in message  # says what it got
    assert "\n" not in message


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("2026-13-01", r"\(month must be in 1\.\.12\)"),
        ("2026-02-30", r"\(day is out of range"),
        ("2026-04-10 25:00", r"\(hour must be in"),
        ("2026-04-10 09:30:00 +2500", r"offset \+2500 is out of range"),
    ],
    ids=["month", "day", "hour", "offset"],
)
def test_parse_date_says_which_part_is_wrong(value: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_date(value, UTC)


DURATIONS = [
    ("90s", timedelta(seconds=90)),
    ("5m", timedelta(minutes=5)),
    ("2h", timedelta(hours=2)),
    ("7d", timedelta(days=7)),
    ("1w", timedelta(weeks=1)),
    ("0d", timedelta(0)),
    (" 5 m ", timedelta(minutes=5)),
    (30, timedelta(seconds=30)),
    (0, timedelta(0)),
]


@pytest.mark.parametrize(
    ("value", "expected"), DURATIONS, ids=[repr(d[0]).strip("'") for d in DURATIONS]
)
def test_parse_duration(value: object, expected: timedelta) -> None:
    assert parse_duration(value) == expected


BAD_DURATIONS = [
    ("negative-text", "-5m"),
    ("negative-int", -1),
    ("bool", True),
    ("float", 1.5),
    ("no-unit", "5"),
    ("upper-unit", "5M"),
    ("fraction", "1.5h"),
    ("word-unit", "5 min"),
    ("compound", "1d2h"),
    ("empty", ""),
    ("none", None),
    ("list", ["5m"]),
]


@pytest.mark.parametrize("value", [b[1] for b in BAD_DURATIONS], ids=[b[0] for b in BAD_DURATIONS])
def test_parse_duration_rejects(value: object) -> None:
    with pytest.raises(ValueError) as caught:
        parse_duration(value)
    message = str(caught.value)
    assert message.startswith('expected a duration like "90s"')
    assert repr(value) in message


ISO = [
    ("utc", datetime(2026, 4, 10, 9, 30, tzinfo=UTC), "2026-04-10T09:30:00+00:00"),
    ("minus-7", datetime(2026, 4, 10, 9, 30, 15, 999999, MINUS_7), "2026-04-10T09:30:15-07:00"),
    ("plus-2", datetime(2026, 4, 10, 9, 30, tzinfo=PLUS_2), "2026-04-10T09:30:00+02:00"),
    ("berlin-summer", datetime(2026, 7, 1, 10, 0, tzinfo=BERLIN), "2026-07-01T10:00:00+02:00"),
    ("berlin-winter", datetime(2026, 1, 15, 10, 0, tzinfo=BERLIN), "2026-01-15T10:00:00+01:00"),
]


@pytest.mark.parametrize(("moment", "expected"), [i[1:] for i in ISO], ids=[i[0] for i in ISO])
def test_isoformat_keeps_the_offset(moment: datetime, expected: str) -> None:
    assert isoformat(moment) == expected


def test_parsed_then_formatted_round_trips_the_offset() -> None:
    parsed = parse_date("2026-04-10T09:30:00.123456-07:00", UTC)
    assert isoformat(parsed) == "2026-04-10T09:30:00-07:00"
