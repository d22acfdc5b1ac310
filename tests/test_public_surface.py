"""Every module declares what it exports, and the core's public API is pinned."""

import importlib
import pkgutil

import pytest

import envwake

MODULES = sorted(
    info.name
    for info in pkgutil.walk_packages(envwake.__path__, prefix="envwake.")
    if not info.name.endswith("__main__")
)


@pytest.mark.parametrize("name", MODULES)
def test_module_declares_its_exports(name):
    module = importlib.import_module(name)
    assert hasattr(module, "__all__"), f"{name} has no __all__"
    missing = [export for export in module.__all__ if not hasattr(module, export)]
    assert missing == []


def test_packages_say_what_they_own():
    for name in MODULES:
        module = importlib.import_module(name)
        if hasattr(module, "__path__"):
            assert module.__doc__, f"package {name} has no docstring"


def test_manifest_engine_exports():
    from envwake import manifests

    assert sorted(manifests.__all__) == [
        "CronTrigger",
        "Document",
        "FieldEdit",
        "ScaledObjectSummary",
        "parse_documents",
        "remove_min_replicas",
        "select_document",
        "set_min_replicas",
        "set_pod_template_annotation",
        "summarize",
    ]
