"""Dependency waves: the order in which an environment's entries start and stop.

Clusters start first, then services. Within each group a wave is a topological level:
on start, an entry goes one wave after the last of its dependencies; on stop, one wave
after the last of its dependents (dependents stop first). Services stop before
clusters. Within a wave, entries keep their order in the config.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache

from envwake.model.loading import Environment

__all__ = ["Wave", "levels", "start_waves", "stop_waves"]


@dataclass(frozen=True)
class Wave:
    number: int  # 1-based, in the order the waves run
    clusters: tuple[str, ...]
    services: tuple[str, ...]  # namespace/serviceName


def levels(keys: Sequence[str], needs: Mapping[str, Sequence[str]]) -> list[list[str]]:
    """Topological levels of ``keys``: level 0 needs nothing, level n needs level n-1.

    Only edges between ``keys`` count. The graph must be acyclic (the config loader
    rejects cycles).
    """
    members = set(keys)

    @cache
    def level(key: str) -> int:
        inside = [d for d in needs.get(key, ()) if d in members]
        return 1 + max(map(level, inside)) if inside else 0

    grouped: list[list[str]] = []
    for key in keys:
        depth = level(key)
        while len(grouped) <= depth:
            grouped.append([])
        grouped[depth].append(key)
    return grouped


def start_waves(environment: Environment) -> list[Wave]:
    clusters = [c.key for c in environment.clusters]
    services = [s.key for s in environment.services]
    needs = environment.dependencies
    return _number(
        [(tuple(level), ()) for level in levels(clusters, needs)]
        + [((), tuple(level)) for level in levels(services, needs)]
    )


def stop_waves(environment: Environment) -> list[Wave]:
    clusters = [c.key for c in environment.clusters]
    services = [s.key for s in environment.services]
    dependents: dict[str, list[str]] = {}
    for key, needed in environment.dependencies.items():
        for dependency in needed:
            dependents.setdefault(dependency, []).append(key)
    return _number(
        [((), tuple(level)) for level in levels(services, dependents)]
        + [(tuple(level), ()) for level in levels(clusters, dependents)]
    )


def _number(groups: list[tuple[tuple[str, ...], tuple[str, ...]]]) -> list[Wave]:
    return [
        Wave(number, clusters, services)
        for number, (clusters, services) in enumerate(groups, start=1)
    ]
