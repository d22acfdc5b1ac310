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
