"""Read a directory of environment configs (one YAML file per environment).

In the cluster the directory is a mounted ConfigMap; locally it is ``config/``.
"""

from __future__ import annotations

from pathlib import Path

from envwake.model.loading import Environment, load_environment
from envwake.model.problems import Problem

__all__ = ["config_files", "load_config_dir"]


# kustomize's own file (config/ is also the kustomization that makes the ConfigMap)
KUSTOMIZATION_FILES = frozenset({"kustomization.yaml", "kustomization.yml", "Kustomization"})


def config_files(directory: Path) -> list[Path]:
    """The environment config files of ``directory``: ``*.yaml``/``*.yml``, not hidden,
    not a kustomization."""
    return sorted(
        path
        for path in directory.iterdir()
        if path.suffix in (".yaml", ".yml")
        and not path.name.startswith(".")
        and path.name not in KUSTOMIZATION_FILES
        and path.is_file()
    )


def load_config_dir(directory: Path) -> tuple[dict[str, Environment], list[Problem]]:
    """Every valid environment of ``directory`` by name, and every problem found."""
    if not directory.is_dir():
        return {}, [Problem(str(directory), "", "no such directory")]
    environments: dict[str, Environment] = {}
    problems: list[Problem] = []
    for path in config_files(directory):
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(Problem(str(path), "", f"cannot read: {exc}"))
            continue
        loaded = load_environment(text, source=str(path), default_name=path.stem)
        if isinstance(loaded, list):
            problems.extend(loaded)
        elif loaded.name in environments:
            other = environments[loaded.name].source
            problems.append(
                Problem(
                    str(path), "name", f"environment {loaded.name!r} is also defined in {other}"
                )
            )
        else:
            environments[loaded.name] = loaded
    if not environments and not problems:
        problems.append(Problem(str(directory), "", "no environment configs (*.yaml) found"))
    return environments, problems
