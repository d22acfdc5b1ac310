"""The Slack app's identity, as deploy/ binds it, on a real API server: it may create,
read, watch and patch EnvironmentWakes, and touch nothing else."""

from __future__ import annotations

from pathlib import Path

from tests.deploy.kustomize import build
from tests.deploy.test_deploy import granted
from tests.envtest.conftest import install_identities
from tests.envtest.test_operator_rbac import EVERYONE

ROOT = Path(__file__).parents[2]
WAKES = "/apis/envwake.dev/v1alpha1/namespaces/{namespace}/environmentwakes"


def slack_token(server) -> str:
    install_identities(server)
    server.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}})
    return server.token_for("envwake-system", "envwake-slack")


def test_the_slack_identity_may_do_exactly_what_deploy_grants(real_api_server):
    token = slack_token(real_api_server)
    status, review = real_api_server.request(
        "POST",
        "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
        {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectRulesReview",
         "spec": {"namespace": "team-a"}},
        token=token,
    )  # fmt: skip
    assert status == 201, review
    may = {
        (group, resource, verb)
        for rule in review["status"]["resourceRules"]
        for group in rule.get("apiGroups", [])
        for resource in rule.get("resources", [])
        for verb in rule["verbs"]
    }
    expected = granted(build(ROOT / "deploy" / "base"), "envwake-slack")
    assert may - EVERYONE == expected
    assert expected == {
        ("envwake.dev", "environmentwakes", verb)
        for verb in ("create", "get", "list", "watch", "patch")
    }


def test_the_slack_identity_is_refused_everything_else(real_api_server):
    token = slack_token(real_api_server)
    wakes = WAKES.format(namespace="team-a")
    body = {
        "apiVersion": "envwake.dev/v1alpha1",
        "kind": "EnvironmentWake",
        "metadata": {"name": "from-slack"},
        "spec": {"environment": "dev", "requestedBy": "U024BE7LH"},
    }
    assert real_api_server.request("POST", wakes, body, token=token)[0] == 201
    patch = {"spec": {"reason": "release"}}
    merge = "application/merge-patch+json"
    code, _ = real_api_server.request(
        "PATCH", f"{wakes}/from-slack", patch, token=token, content_type=merge
    )
    assert code == 200
    refused = [
        ("DELETE", f"{wakes}/from-slack", None),  # only the operator ends wakes (stopAt)
        ("PATCH", f"{wakes}/from-slack/status", {"status": {"phase": "Awake"}}),
        ("GET", "/api/v1/namespaces/team-a/secrets", None),
        ("GET", "/api/v1/namespaces/team-a/configmaps", None),
        ("POST", "/api/v1/namespaces/team-a/events", {"metadata": {"name": "x"}}),
        ("GET", "/apis/apps/v1/namespaces/team-a/deployments", None),
    ]
    for method, path, payload in refused:
        code, answer = real_api_server.request(
            method, path, payload, token=token, content_type=merge
        )
        assert code == 403, (method, path, answer)
    real_api_server.request("DELETE", f"{wakes}/from-slack")  # as the admin


def test_the_cli_works_on_the_real_server_with_each_identity(kubeconfigs, capsys):
    """The CLI over TLS with the generated CA: the Slack identity (what a Slack user's
    request runs as) may start and stop a wake; the operator's may list but not create."""
    from envwake.cli.main import main

    def envwake(who: str, *argv: str) -> tuple[int, str, str]:
        try:
            code = main([*argv, "--kubeconfig", str(kubeconfigs[who]), "--config-dir", "config"])
        except SystemExit as exc:
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        return code, out, err

    code, out, err = envwake("slack", "start", "dev", "--name", "cli", "--for", "1h")
    assert code == 0, err
    assert "created EnvironmentWake team-a/cli" in out
    code, out, _ = envwake("operator", "status", "dev")
    assert code == 0
    assert "  team-a/cli  Pending" in out
    code, out, err = envwake("slack", "stop", "dev")
    assert code == 0, err
    assert "team-a/cli: stopAt set to" in out
    code, _, err = envwake("operator", "start", "dev", "--name", "not-allowed")
    assert code == 2
    assert "the API server answered 403 Forbidden" in err
    assert envwake("admin", "status", "-A")[0] == 0
    code, answer = kubeconfigs["server"].request(
        "DELETE", "/apis/envwake.dev/v1alpha1/namespaces/team-a/environmentwakes/cli"
    )
    assert code == 200, answer  # leave nothing for the operator tests that follow
