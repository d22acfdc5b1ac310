"""The original tool's config format, as its users already have it: dependencies written
as ``{type, name}`` objects, ``compactSeqIndent`` wherever the original puts it."""

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from envwake.model.loading import Environment, load_environment
from envwake.planning import Rules, WakeRequest, plan_environment, start_waves

EXAMPLE = Path(__file__).parent / "testdata" / "sc8leon-example.yaml"
TOKYO = ZoneInfo("Asia/Tokyo")


def load(text: str):
    return load_environment(text, source="zozotown.yaml", default_name="zozotown")


def test_the_original_example_validates_and_resolves_its_dependencies():
    environment = load(EXAMPLE.read_text(encoding="utf-8"))
    assert isinstance(environment, Environment), environment
    assert environment.dependencies == {
        "zozotown/zozotown-api": ("zozotown-rds-cluster",),
        "zozotown/zozotown-front": ("zozotown/zozotown-api",),
        "zozotown-rds-cluster": (),
    }
    (cluster,) = environment.clusters
    assert cluster.aws_account_id == "123456789012"  # unquoted in the original: a number
    api = environment.services[0]
    assert api.manifest.deployment is not None
    assert api.manifest.deployment.timestamp_key_name == "sc8leon.zozo.com/restartedAt"


def test_the_original_example_plans_a_saturday_wake():
    environment = load(EXAMPLE.read_text(encoding="utf-8"))
    assert isinstance(environment, Environment)
    rules = Rules.from_config(environment.config)
    saturday = datetime(2026, 11, 28, 10, 0, tzinfo=TOKYO)
    plan = plan_environment(rules, [WakeRequest(saturday)], now=saturday)
    assert [(a.kind.value, a.at.astimezone(TOKYO).strftime("%a %H:%M")) for a in plan.actions] == [
        ("start", "Sat 10:00"),
        ("stop", "Sat 22:00"),
        ("reset", "Sat 22:00"),
    ]
    waves = [(w.clusters, w.services) for w in start_waves(environment)]
    assert waves == [
        (("zozotown-rds-cluster",), ()),
        ((), ("zozotown/zozotown-api",)),
        ((), ("zozotown/zozotown-front",)),
    ]


def test_strings_and_objects_mix():
    text = EXAMPLE.read_text(encoding="utf-8").replace(
        "      - type: service\n        name: zozotown-api\n",
        "      - zozotown/zozotown-api\n      - {type: rdscluster, name: zozotown-rds-cluster}\n",
    )
    environment = load(text)
    assert isinstance(environment, Environment), environment
    assert environment.dependencies["zozotown/zozotown-front"] == (
        "zozotown/zozotown-api",
        "zozotown-rds-cluster",
    )


@pytest.mark.parametrize(
    ("written", "message"),
    [
        pytest.param(
            "{type: service, name: zozotown-rds-cluster}",
            "dependency 'zozotown-rds-cluster' is written as type service but names a rdscluster",
            id="service-naming-a-cluster",
        ),
        pytest.param(
            "{type: rdscluster, name: zozotown-api}",
            "dependency 'zozotown-api' is written as type rdscluster but names a service",
            id="cluster-naming-a-service",
        ),
        pytest.param(
            "{type: rdscluster, name: missing-db}",
            "unknown dependency 'missing-db': no rdscluster has that name",
            id="unknown",
        ),
        pytest.param(
            "{type: database, name: zozotown-api}",
            "Input should be 'service' or 'rdscluster'",
            id="unknown-type",
        ),
        pytest.param(
            "{type: service}", "dependencies[0].name: required key is missing", id="no-name"
        ),
    ],
)
def test_a_wrong_dependency_is_named_with_its_place(written, message):
    text = EXAMPLE.read_text(encoding="utf-8").replace(
        "      - type: service\n        name: zozotown-api\n", f"      - {written}\n"
    )
    problems = load(text)
    assert isinstance(problems, list), problems
    assert len(problems) == 1, problems
    assert str(problems[0]).startswith("zozotown.yaml: services[1].dependencies[0]"), problems
    assert message in str(problems[0])
