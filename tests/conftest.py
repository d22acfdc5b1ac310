import logging
import os

import pytest
from hypothesis import HealthCheck, settings

from envwake.aws.sessions import boto_session
from envwake.sandbox import leaks
from envwake.sandbox.aws import AwsEmulator

settings.register_profile("default", max_examples=150, deadline=None)
settings.register_profile(
    "ci", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(scope="session")
def aws_emulator():
    """moto over HTTP, once per test session; tests reset it before use."""
    with AwsEmulator(session_factory=boto_session) as aws:
        yield aws


@pytest.fixture(scope="session")
def real_api_server():
    """A real kube-apiserver + etcd (the envtest tier) with the CRD installed; skipped
    where the binaries are missing, a failure when ENVWAKE_REQUIRE_ENVTEST=1 (CI)."""
    from tests.envtest.server import ApiServer, why_unavailable

    reason = why_unavailable()
    if reason is not None:
        if os.environ.get("ENVWAKE_REQUIRE_ENVTEST") == "1":
            pytest.fail(f"the envtest tier is required here: {reason}")
        pytest.skip(f"envtest tier: {reason}")
    with ApiServer() as server:
        server.install_crds()
        yield server


# -- no secret anywhere ---------------------------------------------------------------------
# Every log line (at every level), every test's captured output and failure text, and
# everything the emulators receive (pull requests, comments, Kubernetes events and status,
# Slack messages) is searched for the secrets the emulators handed out: GitHub App keys,
# installation tokens, Slack tokens and signing secrets. A test in which one shows up fails.


class _SecretScanner(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
        except Exception:  # a record that cannot be formatted is not ours to judge
            return
        leaks.inspect(f"log line of {record.name}", text)


def pytest_configure(config):
    scanner = _SecretScanner(level=logging.DEBUG)
    scanner.setFormatter(logging.Formatter("%(message)s"))
    root = logging.getLogger()
    root.addHandler(scanner)
    root.setLevel(logging.DEBUG)  # every line is made, so every line is searched


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    for name, text in report.sections:
        if "log" not in name:  # captured log lines were searched as they were made
            leaks.inspect(f"{name} of {item.nodeid}", text)
    if report.longrepr is not None:
        leaks.inspect(f"failure text of {item.nodeid}", report.longreprtext)
    found = leaks.take()
    if found:
        report.outcome = "failed"
        report.longrepr = "a secret leaked:\n" + "\n".join(f"  {leak}" for leak in found)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The longest tests first (the week of the soak, then the killed real process), so
    that the workers share out the rest around them instead of waiting for them last."""
    first = ("tests/soak/", "tests/reconciling/test_killed_operator.py")

    def rank(item: pytest.Item) -> int:
        path = item.nodeid
        return next((i for i, prefix in enumerate(first) if path.startswith(prefix)), len(first))

    items.sort(key=rank)
