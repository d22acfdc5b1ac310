"""Bad input, layer by layer: every case is refused with one message that names what and
where, and nothing else happens (no wake accepted, no reconcile, no file, branch or pull
request). The inventory of issue 10; more cases of each kind live next to their layer."""

from __future__ import annotations

import copy
import io
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import ruamel.yaml

from envwake.configdir import load_config_dir
from envwake.reconciler.report import Step
from envwake.runtime import Clock, Runtime
from tests.model.test_environment_config import BASE

ROOT = Path(__file__).parents[1]
LONG = "x" * 100_000

# -- wakes: the CRD (schema and CEL, on a real API server) and the operator's own check -----
# (spec, what the operator says, what the API server says or None when only the operator
# can tell: it knows the environments)
WAKES: dict[str, tuple[dict[str, Any], str, str | None]] = {
    "no environment": ({}, "spec.environment: Field required", "spec.environment: Required"),
    "unknown environment": ({"environment": "prod"}, "unknown environment 'prod'", None),
    "empty environment": ({"environment": ""}, "spec.environment", "spec.environment"),
    "environment not a name": (
        {"environment": "Dev_1"},
        "spec.environment: 'Dev_1' is not an environment name",
        "spec.environment",
    ),
    "environment a number": ({"environment": 5}, "spec.environment", "spec.environment"),
    "huge environment": ({"environment": LONG}, "spec.environment", "spec.environment"),
    "start without offset": (
        {"environment": "dev", "startAt": "2026-11-28T10:00:00"},
        "spec.startAt: needs a UTC offset",
        None,  # date-time in the schema accepts it; the operator refuses
    ),
    "start not a time": (
        {"environment": "dev", "startAt": "tomorrow"},
        "spec.startAt",
        "spec.startAt",
    ),
    # kube-apiserver 1.34 stores a list in a date-time string field (its format check
    # passes a list, seen here); the operator's own check is what refuses it
    "stop a list": ({"environment": "dev", "stopAt": ["2026"]}, "spec.stopAt", None),
    "stop a number": (  # (not Unix time 5, as a lax parser would have it)
        {"environment": "dev", "stopAt": 5},
        "spec.stopAt: must be an RFC 3339 time",
        "spec.stopAt",
    ),
    "stop before start": (
        {
            "environment": "dev",
            "startAt": "2026-11-28T10:00:00+09:00",
            "stopAt": "2026-11-28T09:00:00+09:00",
        },
        "stopAt must be after startAt",
        "spec.stopAt",
    ),
    "stop equal to start": (
        {
            "environment": "dev",
            "startAt": "2026-11-28T10:00:00+09:00",
            "stopAt": "2026-11-28T01:00:00Z",
        },
        "stopAt must be after startAt",
        "spec.stopAt",
    ),
    "reason too long": (
        {"environment": "dev", "reason": LONG},
        "spec.reason: String should have at most 500 characters",
        "spec.reason",
    ),
    "reason a list": (
        {"environment": "dev", "reason": ["a", "b"]},
        "spec.reason",
        "spec.reason",
    ),
    "requestedBy too long": (
        {"environment": "dev", "requestedBy": "y" * 257},
        "spec.requestedBy",
        "spec.requestedBy",
    ),
    "unknown field": (
        {"environment": "dev", "stopAfter": "3h"},
        "spec.stopAfter: Extra inputs are not permitted",
        'unknown field "spec.stopAfter"',
    ),
    "cancelled not a bool": (
        {"environment": "dev", "cancelled": "yes please"},
        "spec.cancelled",
        "spec.cancelled",
    ),
}


class Recorded:
    """A status sink that keeps what it was given (what the API server would store)."""

    def __init__(self) -> None:
        self.status: dict[str, Any] = {}
        self.steps: list[Step] = []

    async def write_status(self, body: Mapping[str, Any], status: Mapping[str, Any]) -> None:
        self.status = dict(status)

    async def emit(self, body: Mapping[str, Any], step: Step) -> None:
        self.steps.append(step)


class Untouchable:
    """The reconciler a bad wake must never reach."""

    def converge(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a bad wake reached a reconciler")


def never(environment: Any) -> Untouchable:
    return Untouchable()


@pytest.mark.parametrize("case", WAKES, ids=list(WAKES))
async def test_the_operator_refuses_a_bad_wake_naming_the_field(case):
    spec, operator_says, _ = WAKES[case]
    environments, _ = load_config_dir(ROOT / "config")
    sink = Recorded()
    runtime = Runtime(environments, never, sink, clock=Clock())
    body = {"metadata": {"name": "bad", "namespace": "team-a", "generation": 1}, "spec": spec}
    await runtime.upsert(body)
    assert sink.status["phase"] == "Failed"
    assert operator_says in sink.status["message"], sink.status["message"]
    assert len(sink.status["message"]) < 400  # one line, not the value echoed back
    assert "\n" not in sink.status["message"]
    valid = next(c for c in sink.status["conditions"] if c["type"] == "Valid")
    assert valid["status"] == "False"
    assert [s.type for s in sink.steps] == ["Warning"]
    assert not runtime.wakes.get("dev")  # nothing planned for it


API_REFUSED = {k: v for k, v in WAKES.items() if v[2] is not None}


@pytest.mark.parametrize("case", API_REFUSED, ids=list(API_REFUSED))
def test_the_api_server_refuses_a_bad_wake_naming_the_field(real_api_server, case):
    spec, _, server_says = API_REFUSED[case]
    real_api_server.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bad"}})
    path = "/apis/envwake.dev/v1alpha1/namespaces/bad/environmentwakes"
    body = {
        "apiVersion": "envwake.dev/v1alpha1",
        "kind": "EnvironmentWake",
        "metadata": {"name": "bad"},
        "spec": spec,
    }
    code, answer = real_api_server.request("POST", f"{path}?fieldValidation=Strict", body)
    assert code in (400, 422), answer
    assert server_says in answer["message"], answer["message"]
    assert real_api_server.request("GET", f"{path}/bad")[0] == 404  # nothing stored


# -- environment configs ---------------------------------------------------------------------
def config_with(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    target: Any = data
    for key in path[:-1]:
        target = target[key]
    if value is None:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return data


def dump(data: Any) -> str:
    stream = io.StringIO()
    ruamel.yaml.YAML(typ="safe", pure=True).dump(data, stream)
    return stream.getvalue()


CONFIGS: dict[str, tuple[str, str]] = {
    "path traversal": (
        dump(config_with(("services", 1, "manifest", "scaledObject", "path"), "../../etc/passwd")),
        "services[1].manifest.scaledObject.path",
    ),
    "absolute manifest path": (
        dump(config_with(("services", 1, "manifest", "scaledObject", "path"), "/etc/x.yaml")),
        "services[1].manifest.scaledObject.path",
    ),
    "manifest not yaml": (
        dump(config_with(("services", 2, "manifest", "scaledObject", "path"), "apps/web/so")),
        "services[2].manifest.scaledObject.path",
    ),
    "unknown key": (dump(config_with(("schedul",), {"start": "x"})), "schedul"),
    "wrong type": (dump(config_with(("timezone",), 9)), "timezone"),
    "unknown time zone": (dump(config_with(("timezone",), "Mars/Olympus")), "timezone"),
    "bad cron": (dump(config_with(("schedule",), {"start": "every morning"})), "schedule.start"),
    "huge replicas": (
        dump(config_with(("services", 1, "replicas"), 2**40)),
        "services[1].replicas",
    ),
    "unknown dependency": (
        dump(config_with(("services", 2, "dependencies"), ["nothing"])),
        "services[2].dependencies",
    ),
    "dependency cycle": (
        dump(config_with(("services", 1, "dependencies"), ["shop/web"])),
        "shop/api -> shop/web -> shop/api",
    ),
    "account id of the wrong length": (
        dump(config_with(("services", 0, "awsAccountID"), "12345")),
        "services[0].awsAccountID",
    ),
    "lead too long": (dump(config_with(("stopLead",), "13h")), "stopLead"),
    "slack channel not an id": (
        dump(config_with(("slack",), {"channels": ["#dev"]})),
        "slack.channels[0]",
    ),
    "duplicate service": (
        dump(config_with(("services", 2, "serviceName"), "api")),
        "services[2]",
    ),
    "reset time not a time": (dump(config_with(("reset",), {"businessDay": "25:00"})), "reset"),
    "repository not owner/name": (
        dump(config_with(("git", "repository"), "just-a-name")),
        "git.repository",
    ),
    "empty file": ("", "dev.yaml"),
    "not a mapping": ("- just\n- a list\n", "dev.yaml"),
    "not yaml": ("git: {repository: [unclosed\n", "dev.yaml"),
}


@pytest.mark.parametrize("case", CONFIGS, ids=list(CONFIGS))
def test_a_bad_config_is_refused_naming_the_file_and_path(tmp_path, case):
    text, where = CONFIGS[case]
    (tmp_path / "dev.yaml").write_text(text)
    before = sorted(p.name for p in tmp_path.iterdir())
    done = subprocess.run(
        [sys.executable, "-m", "envwake", "config", "validate", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 2, done
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert lines, done
    assert all(str(tmp_path / "dev.yaml") in line for line in lines), lines
    assert any(where in line for line in lines), lines
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written
