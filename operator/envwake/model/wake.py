"""The EnvironmentWake spec as the operator reads it (the CRD's ``spec``)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

from envwake.model.environment import is_dns_label

__all__ = ["WakeSpec"]


class WakeSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, alias_generator=to_camel)

    environment: str
    start_at: datetime | None = None
    stop_at: datetime | None = None
    reason: str | None = Field(default=None, max_length=500)
    requested_by: str | None = Field(default=None, max_length=256)
    cancelled: bool = False  # withdrawn: ended as a delete would end it

    @field_validator("environment")
    @classmethod
    def _environment(cls, value: str) -> str:
        if not is_dns_label(value):
            shown = value if len(value) <= 63 else f"{value[:40]}… ({len(value)} characters)"
            raise ValueError(f"{shown!r} is not an environment name")
        return value

    @field_validator("start_at", "stop_at", mode="before")
    @classmethod
    def _text(cls, value: object) -> object:
        if value is not None and not isinstance(value, str | datetime):
            raise ValueError(
                f"must be an RFC 3339 time like 2026-11-28T10:00:00+09:00, "
                f"not a {type(value).__name__}"
            )
        return value

    @field_validator("start_at", "stop_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("needs a UTC offset (RFC 3339), like 2026-11-28T10:00:00+09:00")
        return value

    @model_validator(mode="after")
    def _stop_after_start(self) -> WakeSpec:
        if self.start_at and self.stop_at and self.stop_at <= self.start_at:
            raise ValueError("stopAt must be after startAt")
        return self
