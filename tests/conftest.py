import os

import pytest
from hypothesis import HealthCheck, settings

from envwake.sandbox.aws import AwsEmulator

settings.register_profile("default", max_examples=150, deadline=None)
settings.register_profile(
    "ci", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(scope="session")
def aws_emulator():
    """moto over HTTP, once per test session; tests reset it before use."""
    with AwsEmulator() as aws:
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
