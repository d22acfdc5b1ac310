"""Rules of the code base that a reviewer would otherwise have to remember."""

import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[1] / "operator" / "envwake"
PURE = ["planning", "model", "manifests"]
CLOCK = re.compile(r"datetime\.now|datetime\.utcnow|time\.time\(|date\.today|time\.monotonic")


@pytest.mark.parametrize("package", PURE)
def test_pure_code_never_reads_the_clock(package):
    offenders = [
        f"{path.relative_to(PACKAGE)}:{number}"
        for path in (PACKAGE / package).rglob("*.py")
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if CLOCK.search(line)
    ]
    assert offenders == []


def test_operator_directory_is_not_a_package():
    assert not (PACKAGE.parent / "__init__.py").exists()
