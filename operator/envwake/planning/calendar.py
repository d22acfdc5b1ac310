"""Business days: Monday to Friday, minus public holidays and listed extra holidays,
plus listed extra work days."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import holidays

__all__ = ["BusinessCalendar"]


class BusinessCalendar:
    def __init__(
        self,
        country: str = "JP",
        *,
        extra_holidays: Iterable[date] = (),
        extra_workdays: Iterable[date] = (),
    ) -> None:
        self.country = country
        self._public = holidays.country_holidays(country)
        self._extra_holidays = frozenset(extra_holidays)
        self._extra_workdays = frozenset(extra_workdays)

    def is_business_day(self, day: date) -> bool:
        if day in self._extra_workdays:
            return True
        if day in self._extra_holidays:
            return False
        return day.weekday() < 5 and day not in self._public

    def describe(self, day: date) -> str:
        """``business day``, ``Saturday``, ``public holiday (Culture Day)``, …"""
        if day in self._extra_workdays:
            return "extra work day"
        if day in self._extra_holidays:
            return "extra holiday"
        name = self._public.get(day)
        if name:
            return f"public holiday ({name})"
        if day.weekday() >= 5:
            return day.strftime("%A")
        return "business day"
