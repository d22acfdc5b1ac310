"""``envwake run``: settings and the clear failures before anything starts."""

from pathlib import Path

import pytest

from envwake.cli.main import build_parser, main
from envwake.cli.run import clone_url, settings_from

CONFIG = Path(__file__).parents[2] / "config"


def test_settings_from_flags_and_environment(monkeypatch):
    monkeypatch.setenv("ENVWAKE_NAMESPACES", "envwake, team-a")
    monkeypatch.setenv("ENVWAKE_LOG_FORMAT", "json")
    args = build_parser().parse_args(
        ["run", "--config-dir", str(CONFIG), "--aws-region", "us-east-1"]
    )
    settings = settings_from(args)
    assert settings.namespaces == ("envwake", "team-a")
    assert settings.log_format == "json"
    assert settings.aws_region == "us-east-1"
    assert settings.config_dir == CONFIG


@pytest.mark.parametrize(
    ("api", "expected"),
    [
        pytest.param("https://api.github.com", "https://github.com/acme/flux.git", id="github"),
        pytest.param(
            "https://ghe.example.com/api/v3",
            "https://ghe.example.com/acme/flux.git",
            id="enterprise",
        ),
        pytest.param("http://127.0.0.1:8080", "http://127.0.0.1:8080/acme/flux.git", id="emulator"),
    ],
)
def test_clone_url(api, expected):
    assert clone_url(api, "acme/flux") == expected


def test_invalid_configs_stop_it_before_anything_starts(tmp_path, capsys):
    (tmp_path / "dev.yaml").write_text("git: {repository: nope}\nservices: []\n")
    with pytest.raises(SystemExit) as exited:
        main(["run", "--config-dir", str(tmp_path)])
    assert exited.value.code == 2
    assert "invalid environment configs" in capsys.readouterr().err


def test_missing_github_credentials_are_named(monkeypatch, capsys):
    for name in (
        "ENVWAKE_GITHUB_APP_ID",
        "ENVWAKE_GITHUB_INSTALLATION_ID",
        "ENVWAKE_GITHUB_PRIVATE_KEY",
        "ENVWAKE_GITHUB_PRIVATE_KEY_FILE",
        "ENVWAKE_GITHUB_SECRET_DIR",
    ):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(SystemExit) as exited:
        main(["run", "--config-dir", str(CONFIG)])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err == (
        "envwake: GitHub App app-id, installation-id, private-key missing in the environment "
        "(ENVWAKE_GITHUB_*)\n"
    )


def test_bad_liveness_url(capsys):
    with pytest.raises(SystemExit):
        main(["run", "--config-dir", str(CONFIG), "--liveness", "8080"])
    assert "--liveness '8080' must be an http:// URL" in capsys.readouterr().err


def test_bad_metrics_port(capsys):
    with pytest.raises(SystemExit):
        main(["run", "--config-dir", str(CONFIG), "--metrics-port", "http"])
    assert "--metrics-port 'http' must be a TCP port number" in capsys.readouterr().err


def test_a_missing_virtual_clock_file_is_named(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["run", "--config-dir", str(CONFIG), "--virtual-clock", str(tmp_path / "no")])
    assert f"--virtual-clock '{tmp_path / 'no'}': no such file" in capsys.readouterr().err


def test_the_virtual_clock_flag_is_not_in_help(capsys):
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    text = capsys.readouterr().out
    assert "--config-dir" in text
    assert "virtual" not in text


async def test_metrics_are_served_in_the_prometheus_text_format():
    import socket

    import aiohttp

    from envwake.metrics import Metrics, serve

    metrics = Metrics()
    metrics.observe_wakes("dev", ["Awake", "Awake", "Scheduled"])
    metrics.observe_failure("dev", "ChecksFailed")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    runner = await serve(metrics, host="127.0.0.1", port=port)
    try:
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{port}/metrics") as response,
        ):
            text = await response.text()
    finally:
        await runner.cleanup()
    assert 'envwake_wakes{environment="dev",phase="Awake"} 2' in text
    assert 'envwake_wakes{environment="dev",phase="Scheduled"} 1' in text
    assert 'envwake_failures_total{environment="dev",reason="ChecksFailed"} 1' in text
