"""Golden cases: each testdata/<case>/ holds original/ and expected/ trees and case.json.

Every case runs the real ``envwake manifest`` command on a copy of the original and
compares the result byte for byte; error cases expect exit 2, one line on stderr naming
the file and the problem, and the file untouched.
"""

import json
import shutil
from pathlib import Path

import pytest

from envwake.cli.main import main

TESTDATA = Path(__file__).parent / "testdata"
CASES = sorted(p.name for p in TESTDATA.iterdir() if (p / "case.json").is_file())


def test_corpus_has_at_least_30_edit_cases():
    edits = [c for c in CASES if (TESTDATA / c / "expected").is_dir()]
    assert len(edits) >= 30


@pytest.mark.parametrize("case", CASES)
def test_manifest_golden_case(case, tmp_path, capsys):
    spec = json.loads((TESTDATA / case / "case.json").read_text())
    original = TESTDATA / case / "original" / "manifest.yaml"
    target = tmp_path / "manifest.yaml"
    shutil.copyfile(original, target)

    if "error" in spec:
        with pytest.raises(SystemExit) as exited:
            main(["manifest", *spec["args"], str(target)])
        assert exited.value.code == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1, err
        assert str(target) in err, err
        assert spec["error"] in err
        assert target.read_bytes() == original.read_bytes()
        return

    assert main(["manifest", *spec["args"], str(target)]) == 0
    expected = (TESTDATA / case / "expected" / "manifest.yaml").read_bytes()
    assert target.read_bytes() == expected
