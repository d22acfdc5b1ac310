import inspect

from envwake import errors
from envwake.model.conditions import REASONS


def test_every_error_reason_is_a_documented_condition_reason():
    classes = [
        c
        for _, c in inspect.getmembers(errors, inspect.isclass)
        if issubclass(c, errors.EnvwakeError)
    ]
    assert len(classes) > 20
    missing = sorted({c.reason for c in classes} - REASONS)
    assert missing == []


def test_every_error_has_a_distinct_reason_or_inherits_its_family():
    seen = {}
    for _, cls in inspect.getmembers(errors, inspect.isclass):
        if issubclass(cls, errors.EnvwakeError) and "reason" in vars(cls):
            assert cls.reason not in seen, (cls, seen.get(cls.reason))
            seen[cls.reason] = cls
