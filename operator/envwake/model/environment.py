"""The environment config: which services, manifests, clusters and schedules make up one
environment, and the time rules (schedule, calendar, reset slots, leads) it lives by.

The ``services`` list keeps the original tool's format unchanged (``type: service`` and
``type: rdscluster`` entries); a service may add ``replicas`` to override its cron
trigger's ``desiredReplicas``. Everything around it has defaults (see config/README.md).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, time, timedelta
from pathlib import PurePosixPath
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
from croniter import croniter
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from envwake.model.durations import parse_duration

__all__ = [
    "AwsSettings",
    "CalendarSettings",
    "Dependency",
    "DeploymentManifest",
    "Entry",
    "EnvironmentConfig",
    "FluxSettings",
    "GitSettings",
    "KustomizationRef",
    "RdsClusterEntry",
    "ResetSettings",
    "ScaledObjectManifest",
    "ScheduleSettings",
    "ServiceEntry",
    "ServiceManifests",
    "SlackSettings",
    "is_dns_label",
]

MAX_REPLICAS = 2**31 - 1
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\Z")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?\Z")
_REPOSITORY = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+\Z")
_HH_MM = re.compile(r"([01]\d|2[0-3]):([0-5]\d)\Z")
_ACCOUNT = re.compile(r"\d{12}\Z")
_ROLE = re.compile(r"[\w+=,.@/-]{1,512}\Z")
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d\Z")
_SCHEDULE_NAME = re.compile(r"[0-9A-Za-z_.-]{1,64}\Z")
_CLUSTER_ID = re.compile(r"[A-Za-z][A-Za-z0-9-]{0,62}\Z")
_EVENTBRIDGE_EXPRESSION = re.compile(
    r"(cron\((?P<cron>[^)]*)\)|rate\(\d+ [a-z]+\)|at\([0-9T:-]+\))\Z"
)


def is_dns_label(name: str) -> bool:
    """Whether ``name`` can name an environment (it ends up in branch and object names)."""
    return bool(_DNS_LABEL.match(name))


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=False
    )


def _cron(value: str) -> str:
    if not isinstance(value, str):
        raise ValueError("must be a 5-field cron expression, as in KEDA's cron trigger")
    if len(value.split()) != 5 or not croniter.is_valid(value):
        raise ValueError(
            f"{value!r} is not a 5-field cron expression (minute hour day month weekday)"
        )
    return value


def _clock_time(value: object) -> time:
    if isinstance(value, int) and not isinstance(value, bool):
        # YAML 1.1 readers turn 10:00 into 600 (sexagesimal); accept it only as minutes.
        value = f"{value // 60:02d}:{value % 60:02d}"
    if not isinstance(value, str) or not (match := _HH_MM.match(value)):
        raise ValueError(f"{value!r} is not a time of day like 10:00 (HH:MM, 24-hour)")
    return time(int(match.group(1)), int(match.group(2)))


def _duration(value: object) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a duration like 30m, 1h30m or 90s (write it quoted)")
    return parse_duration(value)


def _manifest_path(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("must be a path relative to the repository root")
    if "\\" in value or "\0" in value:
        raise ValueError(f"{value!r}: use forward slashes, no control characters")
    path = PurePosixPath(value)
    if path.is_absolute():
        raise ValueError(f"{value!r} is absolute; give a path relative to the repository root")
    if ".." in path.parts:
        raise ValueError(f"{value!r} leaves the repository ('..' is not allowed)")
    if path.suffix not in (".yaml", ".yml"):
        raise ValueError(f"{value!r} is not a YAML file (.yaml or .yml)")
    return str(path)


def _account_id(value: object) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        value = f"{value:012d}"  # YAML reads an unquoted ID as a number and drops leading 0s
    if not isinstance(value, str) or not _ACCOUNT.match(value):
        raise ValueError(f"{value!r} is not a 12-digit AWS account ID")
    return value


def _matching(pattern: re.Pattern[str], what: str) -> Callable[[str], str]:
    """A validator accepting strings that match ``pattern``, else naming ``what`` it wants."""

    def check(value: str) -> str:
        if not pattern.match(value):
            raise ValueError(f"{value!r} is not {what}")
        return value

    return check


Repository = Annotated[
    str, AfterValidator(_matching(_REPOSITORY, "a GitHub repository like owner/name"))
]
Namespace = Annotated[str, AfterValidator(_matching(_DNS_LABEL, "a Kubernetes namespace name"))]
ObjectName = Annotated[str, AfterValidator(_matching(_DNS_SUBDOMAIN, "a Kubernetes object name"))]
RoleName = Annotated[str, AfterValidator(_matching(_ROLE, "an IAM role name"))]
Region = Annotated[str, AfterValidator(_matching(_REGION, "an AWS region like ap-northeast-1"))]
ScheduleName = Annotated[
    str, AfterValidator(_matching(_SCHEDULE_NAME, "an EventBridge Scheduler schedule name"))
]
CronExpression = Annotated[str, BeforeValidator(_cron)]
ClockTime = Annotated[time, BeforeValidator(_clock_time)]
Duration = Annotated[timedelta, BeforeValidator(_duration)]
ManifestPath = Annotated[str, BeforeValidator(_manifest_path)]
AccountID = Annotated[str, BeforeValidator(_account_id)]


class GitSettings(_Model):
    repository: Repository
    base_branch: str = "master"
    checks: tuple[str, ...] | None = None  # None: the base branch's required checks
    merge_method: Literal["merge", "squash", "rebase"] = "merge"

    @field_validator("base_branch")
    @classmethod
    def _branch(cls, value: str) -> str:
        if not value or value.startswith(("-", "/")) or ".." in value or " " in value:
            raise ValueError(f"{value!r} is not a valid branch name")
        return value


class ScheduleSettings(_Model):
    start: CronExpression = "30 6 * * 1-5"
    end: CronExpression = "0 0 * * 2-6"


class CalendarSettings(_Model):
    country: str = "JP"
    holidays: tuple[date, ...] = ()
    workdays: tuple[date, ...] = ()

    @field_validator("country")
    @classmethod
    def _country(cls, value: str) -> str:
        try:  # cheaper than list_supported_countries(), which imports every country
            holidays.country_holidays(value)
        except (NotImplementedError, KeyError, AttributeError):
            raise ValueError(
                f"{value!r} is not a country code the holidays package knows (ISO 3166-1, like JP)"
            ) from None
        return value


class ResetSettings(_Model):
    business_day: ClockTime = time(10, 0)
    non_business_day: ClockTime = time(22, 0)


class AwsSettings(_Model):
    region: Region | None = None  # default region of the clusters; else the operator's
    stop_clusters_found_available: bool = False  # the 7-day guard stops them, not just reports


class KustomizationRef(_Model):
    namespace: Namespace = "flux-system"
    name: ObjectName


_NAME_AFFIX = re.compile(r"[a-z0-9.-]{0,63}\Z")


class OverlaySettings(_Model):
    """What the kustomize overlay Flux applies does to the names the manifest files
    give (a ``kustomization.yaml``'s ``namePrefix``, ``nameSuffix`` and ``namespace``,
    or the same fields of the Flux Kustomization): where envwake finds the ScaledObject
    and the Deployment in the cluster. The files keep their own names."""

    name_prefix: str = ""
    name_suffix: str = ""
    namespace: Namespace | None = None

    @field_validator("name_prefix", "name_suffix")
    @classmethod
    def _affix(cls, value: str) -> str:
        if not _NAME_AFFIX.match(value):
            raise ValueError(
                f"{value!r} cannot be part of a Kubernetes object name "
                "(lower-case letters, digits, '-' and '.')"
            )
        return value

    def in_cluster(self, namespace: str, name: str) -> tuple[str, str]:
        """(namespace, name) in the cluster of an object the files call ``namespace/name``."""
        return self.namespace or namespace, f"{self.name_prefix}{name}{self.name_suffix}"


class FluxSettings(_Model):
    # When set, a merge counts as applied once this Kustomization's
    # status.lastAppliedRevision contains the merge commit.
    kustomization: KustomizationRef | None = None
    overlay: OverlaySettings = OverlaySettings()


def _slack_id(prefixes: str, what: str) -> Any:
    pattern = re.compile(rf"[{prefixes}][A-Z0-9]{{2,20}}\Z")

    def check(value: object) -> str:
        if not isinstance(value, str) or not pattern.match(value):
            raise ValueError(
                f"{value!r} is not a Slack {what} ID (like {prefixes[0]}0123ABCD, "
                "shown in Slack under the name's details)"
            )
        return value

    return BeforeValidator(check)


class SlackSettings(_Model):
    """Who may wake this environment from Slack: a request must come from one of
    ``channels`` (when given) and its user must be in one of ``user_groups`` (when given).
    Without this section the environment cannot be driven from Slack."""

    channels: tuple[Annotated[str, _slack_id("CG", "channel")], ...] = ()
    user_groups: tuple[Annotated[str, _slack_id("S", "user group")], ...] = ()

    @model_validator(mode="after")
    def _something(self) -> SlackSettings:
        if not self.channels and not self.user_groups:
            raise ValueError(
                "list channels, userGroups or both (leave out the section to keep the "
                "environment out of Slack)"
            )
        return self


class ScaledObjectManifest(_Model):
    path: ManifestPath
    compact_seq_indent: bool | None = None  # accepted from the original tool; not needed


class DeploymentManifest(_Model):
    path: ManifestPath
    timestamp_key_name: str | None = None
    compact_seq_indent: bool | None = None  # accepted from the original tool; not needed

    @field_validator("timestamp_key_name")
    @classmethod
    def _annotation_key(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(
            r"([a-z0-9.-]+/)?[A-Za-z0-9][-A-Za-z0-9_.]*", value
        ):
            raise ValueError(f"{value!r} is not a valid annotation key")
        return value


class ServiceManifests(_Model):
    scaled_object: ScaledObjectManifest
    deployment: DeploymentManifest | None = None


class Dependency(_Model):
    """What an entry needs up first. The original tool writes ``{type, name}``; envwake
    also takes a bare name (``type`` is then whichever entry has that name)."""

    type: Literal["service", "rdscluster"] | None = None
    name: str

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must name a service or an rdscluster")
        return value

    def __str__(self) -> str:
        return self.name


def _dependency(value: object) -> object:
    return {"name": value} if isinstance(value, str) else value


DependencyRef = Annotated[Dependency, BeforeValidator(_dependency)]


class ServiceEntry(_Model):
    type: Literal["service"]
    namespace: Namespace
    service_name: ObjectName
    manifest: ServiceManifests
    dependencies: tuple[DependencyRef, ...] = ()
    replicas: int | None = Field(default=None, ge=0, le=MAX_REPLICAS, strict=True)

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.service_name}"


class RdsClusterEntry(_Model):
    type: Literal["rdscluster"]
    cluster_id: str = Field(alias="clusterID")
    aws_account_id: AccountID | None = Field(default=None, alias="awsAccountID")
    role: RoleName | None = None
    region: Region | None = None
    start_schedule_name: ScheduleName
    origin_start_time: str
    stop_schedule_name: ScheduleName
    origin_stop_time: str
    dependencies: tuple[DependencyRef, ...] = ()

    @property
    def key(self) -> str:
        return self.cluster_id

    @field_validator("cluster_id")
    @classmethod
    def _cluster_id(cls, value: str) -> str:
        if not _CLUSTER_ID.match(value) or value.endswith("-") or "--" in value:
            raise ValueError(f"{value!r} is not an Aurora DB cluster identifier")
        return value

    @field_validator("origin_start_time", "origin_stop_time")
    @classmethod
    def _expression(cls, value: str) -> str:
        match = _EVENTBRIDGE_EXPRESSION.match(value)
        if not match or (match.group("cron") is not None and len(match.group("cron").split()) != 6):
            raise ValueError(
                f"{value!r} is not an EventBridge schedule expression like "
                "cron(30 6 ? * MON-FRI *), rate(1 day) or at(2026-12-01T06:30:00)"
            )
        return value


Entry = Annotated[ServiceEntry | RdsClusterEntry, Field(discriminator="type")]


class EnvironmentConfig(_Model):
    name: str | None = None
    git: GitSettings
    timezone: str = "Asia/Tokyo"
    schedule: ScheduleSettings = ScheduleSettings()
    calendar: CalendarSettings = CalendarSettings()
    reset: ResetSettings = ResetSettings()
    start_lead: Duration = timedelta(0)
    stop_lead: Duration = timedelta(minutes=30)
    # Inside a normal window, how late the normal schedule may be in waking the
    # environment for a wake before envwake holds it itself.
    normal_schedule_grace: Duration = timedelta(minutes=15)
    aws: AwsSettings = AwsSettings()
    flux: FluxSettings = FluxSettings()
    slack: SlackSettings | None = None
    services: tuple[Entry, ...]

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        if value is not None and not is_dns_label(value):
            raise ValueError(f"{value!r} is not a valid environment name (a DNS label)")
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone like Asia/Tokyo") from None
        return value

    @field_validator("start_lead", "stop_lead", "normal_schedule_grace")
    @classmethod
    def _lead(cls, value: timedelta) -> timedelta:
        if value > timedelta(hours=12):
            raise ValueError("longer than 12h is not supported")
        return value
