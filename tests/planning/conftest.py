from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from envwake.planning import BusinessCalendar, NormalSchedule, Rules

TOKYO = ZoneInfo("Asia/Tokyo")
BERLIN = ZoneInfo("Europe/Berlin")


def make_rules(
    *,
    tz=TOKYO,
    start="30 6 * * 1-5",
    end="0 0 * * 2-6",
    country="JP",
    holidays=(),
    workdays=(),
    reset_business=time(10, 0),
    reset_other=time(22, 0),
    start_lead=timedelta(0),
    stop_lead=timedelta(minutes=30),
):
    return Rules(
        timezone=tz,
        schedule=NormalSchedule(start, end, tz),
        calendar=BusinessCalendar(
            country,
            extra_holidays=[date.fromisoformat(d) for d in holidays],
            extra_workdays=[date.fromisoformat(d) for d in workdays],
        ),
        reset_business_day=reset_business,
        reset_other_day=reset_other,
        start_lead=start_lead,
        stop_lead=stop_lead,
    )


def at(text, tz=TOKYO):
    """``2026-11-28 10:00`` in ``tz``."""
    return datetime.fromisoformat(text).replace(tzinfo=tz)
