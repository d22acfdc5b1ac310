"""The time rules of one environment, taken from its config."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

from envwake.model.environment import EnvironmentConfig
from envwake.planning.calendar import BusinessCalendar
from envwake.planning.windows import NormalSchedule

__all__ = ["Rules"]


@dataclass(frozen=True)
class Rules:
    timezone: tzinfo
    schedule: NormalSchedule
    calendar: BusinessCalendar
    reset_business_day: time = time(10, 0)
    reset_other_day: time = time(22, 0)
    start_lead: timedelta = timedelta(0)
    stop_lead: timedelta = timedelta(minutes=30)

    @classmethod
    def from_config(cls, config: EnvironmentConfig) -> Rules:
        timezone = ZoneInfo(config.timezone)
        return cls(
            timezone=timezone,
            schedule=NormalSchedule(config.schedule.start, config.schedule.end, timezone),
            calendar=BusinessCalendar(
                config.calendar.country,
                extra_holidays=config.calendar.holidays,
                extra_workdays=config.calendar.workdays,
            ),
            reset_business_day=config.reset.business_day,
            reset_other_day=config.reset.non_business_day,
            start_lead=config.start_lead,
            stop_lead=config.stop_lead,
        )

    def reset_slot_on(self, day: date) -> datetime:
        at = self.reset_business_day if self.calendar.is_business_day(day) else self.reset_other_day
        return datetime.combine(day, at, tzinfo=self.timezone).astimezone(UTC)

    def next_reset_slot(self, instant: datetime, *, inclusive: bool) -> datetime:
        """The first reset slot after ``instant`` (or at it, when ``inclusive``), in UTC."""
        day = instant.astimezone(self.timezone).date()
        while True:
            slot = self.reset_slot_on(day)
            if slot > instant or (inclusive and slot == instant):
                return slot
            day += timedelta(days=1)
