from datetime import date

import pytest

from envwake.planning import BusinessCalendar


@pytest.mark.parametrize(
    ("day", "business", "described"),
    [
        pytest.param("2026-11-26", True, "business day", id="thursday"),
        pytest.param("2026-11-28", False, "Saturday", id="saturday"),
        pytest.param("2026-11-23", False, "public holiday (Labor Thanksgiving Day)", id="holiday"),
        pytest.param("2026-05-06", False, "public holiday (Substitute Holiday)", id="substitute"),
        pytest.param("2026-09-22", False, "public holiday (National Holiday)", id="citizens-day"),
        pytest.param(
            "2027-03-22", False, "public holiday (Substitute Holiday)", id="substitute-2027"
        ),
        pytest.param("2026-12-29", False, "extra holiday", id="extra-holiday"),
        pytest.param("2026-12-05", True, "extra work day", id="extra-workday-saturday"),
    ],
)
def test_business_days_in_japan(day, business, described):
    calendar = BusinessCalendar(
        "JP", extra_holidays=[date(2026, 12, 29)], extra_workdays=[date(2026, 12, 5)]
    )
    assert calendar.is_business_day(date.fromisoformat(day)) is business
    assert calendar.describe(date.fromisoformat(day)) == described


def test_other_country():
    calendar = BusinessCalendar("DE")
    assert calendar.is_business_day(date(2026, 10, 3)) is False  # German Unity Day (Saturday)
    assert calendar.is_business_day(date(2026, 12, 25)) is False
    assert calendar.is_business_day(date(2026, 12, 28)) is True
