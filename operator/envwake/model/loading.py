"""Turn an environment config's text into a validated ``Environment``, or problems.

Problems are collected, not raised one at a time, so a person fixing a config sees all
of them at once: schema problems from pydantic, then cross-entry problems (duplicate
entries, unknown or ambiguous dependencies, dependency cycles).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import tzinfo
from zoneinfo import ZoneInfo

import ruamel.yaml
from pydantic import ValidationError
from ruamel.yaml.error import YAMLError

from envwake.model.environment import (
    Dependency,
    EnvironmentConfig,
    RdsClusterEntry,
    ServiceEntry,
    is_dns_label,
)
from envwake.model.problems import Problem, from_validation_error, yaml_error_message

__all__ = ["Environment", "load_environment"]

_UNION_TAGS = frozenset({"service", "rdscluster"})


@dataclass(frozen=True)
class Environment:
    """A validated environment: its config, and its entries with resolved dependencies."""

    name: str
    source: str
    config: EnvironmentConfig
    services: tuple[ServiceEntry, ...]
    clusters: tuple[RdsClusterEntry, ...]
    dependencies: Mapping[str, tuple[str, ...]] = field(repr=False)  # key → keys it needs

    @property
    def timezone(self) -> tzinfo:
        return ZoneInfo(self.config.timezone)


def load_environment(text: str, *, source: str, default_name: str) -> Environment | list[Problem]:
    """Parse and validate one environment config file's text.

    ``default_name`` (usually the file stem) names the environment when the file has no
    ``name:``.
    """
    try:
        data = ruamel.yaml.YAML(typ="safe", pure=True).load(text)
    except YAMLError as exc:
        return [Problem(source, "", yaml_error_message(exc))]
    if not isinstance(data, dict):
        return [Problem(source, "", "must be a mapping (an environment config)")]
    try:
        config = EnvironmentConfig.model_validate(data)
    except ValidationError as exc:
        return from_validation_error(exc, file=source, drop=_UNION_TAGS)

    problems: list[Problem] = []
    name = config.name or default_name
    if config.name is None and not is_dns_label(name):
        problems.append(
            Problem(
                source, "name", f"the file name {name!r} is not a valid environment name; set name:"
            )
        )
    dependencies = _resolve(config, source, problems)
    if not problems:
        problems.extend(_cycles(config, dependencies, source))
    if problems:
        return problems
    return Environment(
        name=name,
        source=source,
        config=config,
        services=tuple(e for e in config.services if isinstance(e, ServiceEntry)),
        clusters=tuple(e for e in config.services if isinstance(e, RdsClusterEntry)),
        dependencies=dependencies,
    )


def _resolve(
    config: EnvironmentConfig, source: str, problems: list[Problem]
) -> dict[str, tuple[str, ...]]:
    seen: dict[str, int] = {}
    by_service_name: dict[str, list[str]] = {}
    for index, entry in enumerate(config.services):
        if entry.key in seen:
            what = "service" if isinstance(entry, ServiceEntry) else "rdscluster"
            problems.append(
                Problem(
                    source,
                    f"services[{index}]",
                    f"duplicate {what} {entry.key!r} (also services[{seen[entry.key]}])",
                )
            )
            continue
        seen[entry.key] = index
        if isinstance(entry, ServiceEntry):
            by_service_name.setdefault(entry.service_name, []).append(entry.key)

    resolved: dict[str, tuple[str, ...]] = {}
    for index, entry in enumerate(config.services):
        keys: list[str] = []
        for position, reference in enumerate(entry.dependencies):
            where = f"services[{index}].dependencies[{position}]"
            try:
                target = _dependency_target(config, entry, reference, seen, by_service_name)
            except _Unresolved as exc:
                problems.append(Problem(source, where, str(exc)))
                continue
            if target in keys:
                problems.append(
                    Problem(source, where, f"dependency {reference.name!r} is listed twice")
                )
            else:
                keys.append(target)
        resolved.setdefault(entry.key, tuple(keys))
    return resolved


class _Unresolved(Exception):
    pass


def _dependency_target(
    config: EnvironmentConfig,
    entry: ServiceEntry | RdsClusterEntry,
    reference: Dependency,
    seen: Mapping[str, int],
    by_service_name: Mapping[str, list[str]],
) -> str:
    """The key ``reference`` names; raises ``_Unresolved`` saying why it names none."""
    name = reference.name

    def type_of(key: str) -> str:
        return "service" if isinstance(config.services[seen[key]], ServiceEntry) else "rdscluster"

    candidates = [name] if name in seen else by_service_name.get(name, [])
    if reference.type is not None:
        typed = [key for key in candidates if type_of(key) == reference.type]
        if reference.type == "service" and not typed:
            typed = [key for key in by_service_name.get(name, []) if key != name]
        if candidates and not typed:
            raise _Unresolved(
                f"dependency {name!r} is written as type {reference.type} but names "
                f"a {type_of(candidates[0])}"
            )
        candidates = typed
    if not candidates:
        what = reference.type or "service or rdscluster"
        raise _Unresolved(f"unknown dependency {name!r}: no {what} has that name")
    if len(candidates) > 1:
        options = ", ".join(candidates)
        raise _Unresolved(
            f"dependency {name!r} is ambiguous ({options}); write namespace/serviceName"
        )
    target = candidates[0]
    found = type_of(target)
    if target == entry.key:
        raise _Unresolved(f"{entry.key!r} depends on itself")
    if isinstance(entry, RdsClusterEntry) and found == "service":
        raise _Unresolved(
            f"rdscluster {entry.key!r} cannot depend on service {target!r}: "
            "clusters start before services"
        )
    return target


def _cycles(
    config: EnvironmentConfig, dependencies: Mapping[str, tuple[str, ...]], source: str
) -> list[Problem]:
    index_of = {entry.key: i for i, entry in enumerate(config.services)}
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    stack: list[str] = []
    found: list[Problem] = []

    def visit(key: str) -> None:
        state[key] = 1
        stack.append(key)
        for target in dependencies.get(key, ()):
            if state.get(target) == 1:
                cycle = [*stack[stack.index(target) :], target]
                found.append(
                    Problem(
                        source,
                        f"services[{index_of[cycle[0]]}].dependencies",
                        "dependency cycle: " + " -> ".join(cycle),
                    )
                )
            elif target not in state:
                visit(target)
        stack.pop()
        state[key] = 2

    for entry in config.services:
        if entry.key not in state:
            visit(entry.key)
    return found
