"""``envwake plan`` and ``envwake config validate``: interfaces other tools rely on."""

import json
import shutil
from pathlib import Path

import pytest

from envwake.cli.main import main

CONFIG = Path(__file__).parents[2] / "config"
NOW = "2026-11-26T10:00:00+09:00"


def run_failing(argv, capsys):
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    captured = capsys.readouterr()
    return captured.err


def plan_json(capsys, *args):
    assert main(["plan", "dev", "--config-dir", str(CONFIG), "--now", NOW, "--json", *args]) == 0
    return json.loads(capsys.readouterr().out)


def test_plan_json_for_the_design_examples(capsys):
    data = plan_json(
        capsys,
        "--wake", "2026-11-28T10:00:00+09:00,",
        "--wake", "2026-11-25T14:00:00+09:00,2026-11-26T02:00:00+09:00",
    )  # fmt: skip
    assert [(a["action"], a["at"]) for a in data["actions"]] == [
        ("expand", "2026-11-25T23:30:00+09:00"),
        ("stop", "2026-11-26T02:00:00+09:00"),
        ("reset", "2026-11-26T10:00:00+09:00"),
        ("start", "2026-11-28T10:00:00+09:00"),
        ("stop", "2026-11-28T22:00:00+09:00"),
        ("reset", "2026-11-28T22:00:00+09:00"),
    ]
    assert data["environment"] == "dev"
    assert data["wakes"][0]["stopIsDefault"] is True
    assert data["nextAction"]["action"] == "start"
    start = data["actions"][3]
    assert start["waves"][0] == {"wave": 1, "clusters": ["shop-db", "payments-db"], "services": []}
    assert data["actions"][5]["waves"] == []


def test_plan_times_in_utc_are_read_and_answered_in_the_environments_zone(capsys):
    data = plan_json(capsys, "--wake", "2026-11-28T01:00:00Z,2026-11-28T03:00:00Z")
    assert [a["at"] for a in data["actions"]] == [
        "2026-11-28T10:00:00+09:00",
        "2026-11-28T12:00:00+09:00",
        "2026-11-28T22:00:00+09:00",
    ]


def test_plan_without_wake_plans_one_from_now(capsys):
    data = plan_json(capsys)
    assert len(data["wakes"]) == 1
    assert data["wakes"][0]["start"] == NOW
    assert data["actions"] == []  # Thursday 10:00 is inside the normal window


def test_plan_empty_start_means_now(capsys):
    data = plan_json(capsys, "--wake", ",2026-11-27T02:00:00+09:00")
    assert data["wakes"][0]["start"] == NOW
    assert [a["action"] for a in data["actions"]] == ["expand", "stop", "reset"]


def test_plan_human_timeline(capsys):
    argv = ["plan", "dev", "--config-dir", str(CONFIG), "--now", NOW]
    assert main([*argv, "--wake", "2026-11-28T10:00:00+09:00,"]) == 0
    out = capsys.readouterr().out
    assert "Plan for dev (Asia/Tokyo); now Thu 2026-11-26 10:00, business day" in out
    assert "Sat 2026-11-28 10:00  start" in out
    assert "wave 1: clusters shop-db, payments-db (account 222233334444)" in out
    assert "(default stop: the next reset slot)" in out
    assert "Next: start at Sat 2026-11-28 10:00" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["--wake", "2026-11-28T10:00:00+09:00,2026-11-28T09:00:00+09:00"],
                     "is not after start", id="stop-before-start"),
        pytest.param(["--wake", "tomorrow,"], "--wake #1 start: 'tomorrow' is not an RFC 3339 time",
                     id="unparsable-time"),
        pytest.param(["--wake", "2026-11-28T10:00:00,"], "has no UTC offset", id="no-offset"),
        pytest.param(["--wake", "2026-11-28T10:00:00+09:00"], "write START,STOP", id="no-comma"),
        pytest.param(["--now", "yesterday"], "--now: 'yesterday' is not an RFC 3339 time",
                     id="bad-now"),
    ],
)  # fmt: skip
def test_plan_rejects_bad_input_with_one_line(capsys, args, message):
    err = run_failing(["plan", "dev", "--config-dir", str(CONFIG), *args], capsys)
    assert err.count("\n") == 1
    assert message in err


def test_plan_unknown_environment(capsys):
    err = run_failing(["plan", "prod", "--config-dir", str(CONFIG)], capsys)
    assert err == f"envwake: unknown environment 'prod' in {CONFIG} (known: dev, stg)\n"


def test_plan_invalid_config(tmp_path, capsys):
    shutil.copy(CONFIG / "dev.yaml", tmp_path / "dev.yaml")
    text = (tmp_path / "dev.yaml").read_text().replace("stopLead: 30m", "stopLead: soon")
    (tmp_path / "dev.yaml").write_text(text)
    err = run_failing(["plan", "dev", "--config-dir", str(tmp_path)], capsys)
    assert "cannot plan 'dev': invalid config" in err
    assert f"{tmp_path / 'dev.yaml'}: stopLead: 'soon' is not a duration" in err


def test_config_validate_examples(capsys):
    assert main(["config", "validate", str(CONFIG)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == f"2 environment(s) valid in {CONFIG}"
    assert out[0] == (
        f"{CONFIG / 'dev.yaml'}: dev: 8 service(s), 2 Aurora cluster(s), "
        "repository example-corp/flux-dev@master"
    )


def test_config_validate_reports_one_line_per_problem(tmp_path, capsys):
    (tmp_path / "a.yaml").write_text("git: {repository: nope}\nservices: []\ncolour: red\n")
    (tmp_path / "b.yml").write_text("name: a\ngit: {repository: x/y}\nservices: []\n")
    (tmp_path / "notes.txt").write_text("not a config")
    assert main(["config", "validate", str(tmp_path)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"{tmp_path / 'a.yaml'}: colour: unknown key",
        f"{tmp_path / 'a.yaml'}: git.repository: 'nope' is not a GitHub repository like owner/name",
    ]


def test_config_validate_duplicate_environment_names(tmp_path, capsys):
    for name in ("one", "two"):
        (tmp_path / f"{name}.yaml").write_text("name: dev\ngit: {repository: x/y}\nservices: []\n")
    assert main(["config", "validate", str(tmp_path)]) == 2
    one, two = tmp_path / "one.yaml", tmp_path / "two.yaml"
    assert capsys.readouterr().err == f"{two}: name: environment 'dev' is also defined in {one}\n"


def test_config_validate_missing_directory(tmp_path, capsys):
    assert main(["config", "validate", str(tmp_path / "nope")]) == 2
    assert capsys.readouterr().err == f"{tmp_path / 'nope'}: no such directory\n"
