"""``envwake manifest``: the command's interface as other tools rely on it."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from envwake.cli.main import main

TESTDATA = Path(__file__).parents[1] / "manifests" / "testdata"


def copy_case(case, tmp_path):
    target = tmp_path / "manifest.yaml"
    shutil.copyfile(TESTDATA / case / "original" / "manifest.yaml", target)
    return target


def run_failing(argv, capsys):
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1, captured.err
    assert captured.err.startswith("envwake: ")
    return captured.err


def test_show_prints_name_min_replicas_and_cron_triggers(tmp_path, capsys):
    target = copy_case("anchors-and-merge-keys-survive", tmp_path)
    assert main(["manifest", "show", str(target)]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "kind": "ScaledObject",
        "name": "api",
        "field": "spec.minReplicaCount",
        "minReplicaCount": 0,
        "cronTriggers": [
            {
                "start": "30 6 * * 1-5",
                "end": "0 0 * * 2-6",
                "timezone": "Asia/Tokyo",  # through the merge key
                "desiredReplicas": 2,
            }
        ],
    }


def test_show_picks_a_document_by_name(tmp_path, capsys):
    target = copy_case("by-name-among-two-scaledobjects", tmp_path)
    assert main(["manifest", "show", str(target), "--name", "worker"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert (shown["name"], shown["minReplicaCount"]) == ("worker", 1)


def test_show_reports_absent_min_replicas_as_null(tmp_path, capsys):
    target = copy_case("insert-missing-after-compact-sequence", tmp_path)
    assert main(["manifest", "show", str(target)]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["minReplicaCount"] is None
    assert [t["desiredReplicas"] for t in shown["cronTriggers"]] == [3]  # the cpu one is not cron


def test_show_rejects_a_non_integer_desired_replicas(tmp_path, capsys):
    target = tmp_path / "so.yaml"
    target.write_text(
        "kind: ScaledObject\nmetadata: {name: api}\nspec:\n  triggers:\n  - type: cron\n"
        "    metadata: {timezone: UTC, start: 0 6 * * *, end: 0 7 * * *, desiredReplicas: many}\n"
    )
    err = run_failing(["manifest", "show", str(target)], capsys)
    assert f"{target}: ScaledObject 'api'" in err
    assert "spec.triggers[0].metadata.desiredReplicas: 'many' is not an integer" in err


def test_show_names_a_missing_cron_field(tmp_path, capsys):
    target = tmp_path / "so.yaml"
    target.write_text(
        "kind: ScaledObject\nmetadata: {name: api}\nspec:\n  triggers:\n  - type: cron\n"
        "    metadata: {start: 0 6 * * *, end: 0 7 * * *, desiredReplicas: '1'}\n"
    )
    err = run_failing(["manifest", "show", str(target)], capsys)
    assert "spec.triggers[0].metadata lacks timezone" in err


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        pytest.param(lambda p: None, "no such file", id="missing"),
        pytest.param(lambda p: p.mkdir(), "is a directory", id="directory"),
        pytest.param(lambda p: p.write_bytes(b"kind: \xff\n"), "not UTF-8", id="not-utf8"),
        pytest.param(lambda p: p.write_text("a: [\n"), "invalid YAML", id="invalid-yaml"),
        pytest.param(lambda p: p.write_text(""), "no ScaledObject document", id="empty"),
    ],
)
@pytest.mark.parametrize("command", ["set-min-replicas", "show"])
def test_unusable_files_fail_with_one_line(tmp_path, capsys, setup, message, command):
    target = tmp_path / "m.yaml"
    setup(target)
    args = ["--replicas", "1"] if command == "set-min-replicas" else []
    err = run_failing(["manifest", command, str(target), *args], capsys)
    assert f"{target}: {message}" in err


def test_missing_required_option_is_one_line(tmp_path, capsys):
    err = run_failing(
        ["manifest", "set-annotation", str(tmp_path / "x.yaml"), "--key", "k"], capsys
    )
    assert "--value" in err


def test_set_reports_what_it_changed(tmp_path, capsys):
    target = copy_case("replace-plain-value", tmp_path)
    assert main(["manifest", "set-min-replicas", str(target), "--replicas", "4"]) == 0
    assert capsys.readouterr().out == (
        f"{target}: ScaledObject 'api' (document 1): spec.minReplicaCount: 0 -> 4\n"
    )


def test_unchanged_file_is_not_rewritten(tmp_path, capsys):
    target = copy_case("replace-plain-value", tmp_path)
    os.utime(target, ns=(1_000_000_000, 1_000_000_000))
    assert main(["manifest", "set-min-replicas", str(target), "--replicas", "0"]) == 0
    assert "unchanged" in capsys.readouterr().out
    assert target.stat().st_mtime_ns == 1_000_000_000


def test_edit_keeps_file_permissions(tmp_path, capsys):
    target = copy_case("replace-plain-value", tmp_path)
    target.chmod(0o640)
    assert main(["manifest", "set-min-replicas", str(target), "--replicas", "2"]) == 0
    assert target.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["manifest.yaml"]  # no temp file left


def test_set_annotation_by_name(tmp_path):
    target = copy_case("multi-document-picks-the-scaledobject", tmp_path)
    argv = [
        "manifest",
        "set-annotation",
        str(target),
        "--key",
        "k",
        "--value",
        "7",
        "--name",
        "api",
    ]
    assert main(argv) == 0
    assert 'annotations:\n        k: "7"\n' in target.read_text()


def test_console_script_and_module_entry_points(tmp_path):
    target = copy_case("replace-plain-value", tmp_path)
    script = Path(sys.executable).parent / "envwake"
    for command in ([str(script)], [sys.executable, "-m", "envwake"]):
        done = subprocess.run(
            [*command, "manifest", "set-min-replicas", str(target), "--replicas", "-3"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 2
        assert done.stdout == ""
        assert done.stderr == (
            f"envwake: {target}: --replicas must be a whole number from 0 to 2147483647, got '-3'\n"
        )


def test_the_cli_starts_without_the_local_stacks_heavy_imports():
    """`envwake --help` and every manifest edit must not wait for moto, Kopf or kmock
    (they took the CLI's start from 0.3 s to 2 s)."""
    code = (
        "import sys, envwake.cli.main; "
        "print(sorted(m for m in ('moto', 'kopf', 'kmock', 'kubernetes', 'boto3') "
        "if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
