"""Environment configs: defaults, the examples under config/, and every kind of mistake
reported with its file and path in the document."""

import copy
import io
from datetime import time, timedelta
from pathlib import Path

import pytest
import ruamel.yaml

from envwake.configdir import config_files
from envwake.model.loading import Environment, load_environment

CONFIG = Path(__file__).parents[2] / "config"

BASE = {
    "git": {"repository": "acme/flux"},
    "services": [
        {
            "type": "rdscluster",
            "clusterID": "db",
            "startScheduleName": "db-start",
            "originStartTime": "cron(30 6 ? * MON-FRI *)",
            "stopScheduleName": "db-stop",
            "originStopTime": "cron(0 0 ? * TUE-SAT *)",
        },
        {
            "type": "service",
            "namespace": "shop",
            "serviceName": "api",
            "manifest": {"scaledObject": {"path": "apps/api/so.yaml"}},
            "dependencies": ["db"],
        },
        {
            "type": "service",
            "namespace": "shop",
            "serviceName": "web",
            "manifest": {"scaledObject": {"path": "apps/web/so.yaml"}},
            "dependencies": ["api"],
        },
    ],
}


def dump(data):
    stream = io.StringIO()
    ruamel.yaml.YAML(typ="safe", pure=True).dump(data, stream)
    return stream.getvalue()


def load(data, name="dev"):
    text = data if isinstance(data, str) else dump(data)
    return load_environment(text, source=f"{name}.yaml", default_name=name)


def with_change(path, value):
    """BASE with the value at ``path`` (keys and list indexes) replaced; None deletes."""
    data = copy.deepcopy(BASE)
    target = data
    for part in path[:-1]:
        target = target[part]
    if value is None:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return data


def test_defaults():
    environment = load(BASE)
    assert isinstance(environment, Environment)
    config = environment.config
    assert environment.name == "dev"
    assert config.git.base_branch == "master"
    assert config.git.merge_method == "merge"
    assert config.git.checks is None
    assert config.timezone == "Asia/Tokyo"
    assert (config.schedule.start, config.schedule.end) == ("30 6 * * 1-5", "0 0 * * 2-6")
    assert config.calendar.country == "JP"
    assert (config.reset.business_day, config.reset.non_business_day) == (time(10), time(22))
    assert (config.start_lead, config.stop_lead) == (timedelta(0), timedelta(minutes=30))
    assert (config.aws.region, config.aws.stop_clusters_found_available) == (None, False)
    assert environment.dependencies == {"db": (), "shop/api": ("db",), "shop/web": ("shop/api",)}


def test_name_from_the_file_unless_given():
    assert load({**BASE, "name": "qa"}, name="whatever").name == "qa"


def test_account_id_written_as_a_number_keeps_its_leading_zero():
    cluster = {**BASE["services"][0], "awsAccountID": 12345678901, "role": "r"}
    environment = load({**BASE, "services": [cluster]})
    assert environment.clusters[0].aws_account_id == "012345678901"


def test_durations_and_times():
    environment = load(
        {**BASE, "stopLead": "1h30m", "startLead": "90s", "reset": {"businessDay": "09:15"}}
    )
    assert environment.config.stop_lead == timedelta(minutes=90)
    assert environment.config.start_lead == timedelta(seconds=90)
    assert environment.config.reset.business_day == time(9, 15)


@pytest.mark.parametrize("path", config_files(CONFIG), ids=lambda p: p.name)
def test_examples_are_valid(path):
    environment = load_environment(path.read_text(), source=str(path), default_name=path.stem)
    assert isinstance(environment, Environment), environment


def test_dev_example_is_realistic():
    environment = load_environment(
        (CONFIG / "dev.yaml").read_text(), source="dev.yaml", default_name="dev"
    )
    assert len(environment.services) == 8
    assert len({s.namespace for s in environment.services}) == 3
    assert len(environment.clusters) == 2
    assert [c.aws_account_id is not None and c.role is not None for c in environment.clusters] == [
        False,
        True,
    ]


S = "services"
INVALID = [
    ("unknown-top-level-key", {**BASE, "colour": "blue"}, "colour", "unknown key"),
    ("unknown-nested-key", with_change(("git", "branch"), "main"), "git.branch", "unknown key"),
    ("unknown-service-key", with_change((S, 1, "image"), "x"), "services[1].image", "unknown key"),
    (
        "missing-repository",
        with_change(("git", "repository"), None),
        "git.repository",
        "required key is missing",
    ),
    (
        "missing-services",
        {k: v for k, v in BASE.items() if k != S},
        "services",
        "required key is missing",
    ),
    (
        "bad-repository",
        with_change(("git", "repository"), "flux"),
        "git.repository",
        "is not a GitHub repository like owner/name",
    ),
    (
        "bad-merge-method",
        with_change(("git", "mergeMethod"), "fast-forward"),
        "git.mergeMethod",
        "Input should be 'merge', 'squash' or 'rebase'",
    ),
    ("bad-timezone", {**BASE, "timezone": "Tokyo"}, "timezone", "is not an IANA time zone"),
    (
        "bad-cron",
        {**BASE, "schedule": {"start": "30 6 * *"}},
        "schedule.start",
        "is not a 5-field cron expression",
    ),
    (
        "six-field-cron",
        {**BASE, "schedule": {"end": "0 0 0 * * 2-6"}},
        "schedule.end",
        "is not a 5-field cron expression",
    ),
    (
        "bad-country",
        {**BASE, "calendar": {"country": "XX"}},
        "calendar.country",
        "is not a country code",
    ),
    (
        "bad-holiday-date",
        {**BASE, "calendar": {"holidays": ["2026-13-01"]}},
        "calendar.holidays[0]",
        "date",
    ),
    (
        "bad-reset-time",
        {**BASE, "reset": {"businessDay": "25:00"}},
        "reset.businessDay",
        "is not a time of day like 10:00",
    ),
    ("bad-duration", {**BASE, "stopLead": "30 minutes"}, "stopLead", "is not a duration like 30m"),
    ("lead-too-long", {**BASE, "stopLead": "13h"}, "stopLead", "longer than 12h is not supported"),
    (
        "unknown-entry-type",
        with_change((S, 1, "type"), "lambda"),
        "services[1]",
        "Input tag 'lambda' found using 'type' does not match",
    ),
    (
        "absolute-manifest-path",
        with_change((S, 1, "manifest", "scaledObject", "path"), "/etc/passwd.yaml"),
        "services[1].manifest.scaledObject.path",
        "is absolute",
    ),
    (
        "traversing-manifest-path",
        with_change((S, 1, "manifest", "scaledObject", "path"), "apps/../../x.yaml"),
        "services[1].manifest.scaledObject.path",
        "leaves the repository",
    ),
    (
        "non-yaml-manifest-path",
        with_change((S, 1, "manifest", "scaledObject", "path"), "apps/api/so.json"),
        "services[1].manifest.scaledObject.path",
        "is not a YAML file",
    ),
    (
        "bad-namespace",
        with_change((S, 1, "namespace"), "Shop"),
        "services[1].namespace",
        "is not a Kubernetes namespace name",
    ),
    (
        "negative-replicas",
        with_change((S, 1, "replicas"), -1),
        "services[1].replicas",
        "greater than or equal to 0",
    ),
    (
        "string-replicas",
        with_change((S, 1, "replicas"), "2"),
        "services[1].replicas",
        "Input should be a valid integer",
    ),
    (
        "huge-replicas",
        with_change((S, 1, "replicas"), 2**40),
        "services[1].replicas",
        "less than or equal to 2147483647",
    ),
    (
        "bad-account",
        with_change((S, 0, "awsAccountID"), "1234"),
        "services[0].awsAccountID",
        "is not a 12-digit AWS account ID",
    ),
    (
        "bad-schedule-expression",
        with_change((S, 0, "originStopTime"), "0 0 * * 2-6"),
        "services[0].originStopTime",
        "is not an EventBridge schedule expression",
    ),
    (
        "bad-region",
        with_change((S, 0, "region"), "tokyo"),
        "services[0].region",
        "is not an AWS region",
    ),
    (
        "unknown-dependency",
        with_change((S, 2, "dependencies"), ["cache"]),
        "services[2].dependencies[0]",
        "unknown dependency 'cache'",
    ),
    (
        "self-dependency",
        with_change((S, 2, "dependencies"), ["shop/web"]),
        "services[2].dependencies[0]",
        "'shop/web' depends on itself",
    ),
    (
        "cluster-needs-service",
        with_change((S, 0, "dependencies"), ["api"]),
        "services[0].dependencies[0]",
        "rdscluster 'db' cannot depend on service 'shop/api'",
    ),
    (
        "dependency-cycle",
        with_change((S, 1, "dependencies"), ["db", "web"]),
        "services[1].dependencies",
        "dependency cycle: shop/api -> shop/web -> shop/api",
    ),
    (
        "duplicate-service",
        with_change((S, 2, "serviceName"), "api"),
        "services[2]",
        "duplicate service 'shop/api' (also services[1])",
    ),
    ("bad-aws-region", {**BASE, "aws": {"region": "tokyo"}}, "aws.region", "is not an AWS region"),
    ("unknown-aws-key", {**BASE, "aws": {"profile": "dev"}}, "aws.profile", "unknown key"),
    ("bad-environment-name", {**BASE, "name": "Dev_1"}, "name", "is not a valid environment name"),
    ("not-a-mapping", "- just\n- a list\n", "", "must be a mapping"),
    ("invalid-yaml", "git: {repository: a/b\nservices: []\n", "", "invalid YAML at line"),
    (
        "duplicate-yaml-key",
        "git: {repository: a/b}\ngit: {repository: c/d}\nservices: []\n",
        "",
        "invalid YAML",
    ),
]


@pytest.mark.parametrize(
    ("data", "path", "message"), [pytest.param(*c[1:], id=c[0]) for c in INVALID]
)
def test_invalid_config_names_file_path_and_problem(data, path, message):
    problems = load(data)
    assert isinstance(problems, list), "expected problems"
    matching = [p for p in problems if p.path == path and message in p.message]
    assert matching, problems
    assert all(p.file == "dev.yaml" for p in problems)
    assert str(matching[0]).startswith(f"dev.yaml: {path}: " if path else "dev.yaml: ")


def test_ambiguous_bare_dependency():
    admin_api = {**BASE[S][2], "namespace": "admin", "serviceName": "api", "dependencies": []}
    data = with_change((S, 2), admin_api)
    data[S].append({**BASE[S][2], "serviceName": "ui", "dependencies": ["api"]})
    problems = load(data)
    assert [str(p) for p in problems] == [
        "dev.yaml: services[3].dependencies[0]: dependency 'api' is ambiguous "
        "(shop/api, admin/api); write namespace/serviceName"
    ]


def test_file_stem_that_is_not_a_name():
    problems = load(BASE, name="My Env")
    assert [p.path for p in problems] == ["name"]
