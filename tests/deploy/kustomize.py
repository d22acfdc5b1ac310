"""``kustomize build`` for the subset deploy/ uses, so the tests need no binary.

Strict on purpose: a kustomization key it does not know fails the build, so deploy/ cannot
grow a feature these tests would silently ignore.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import jsonpatch
import yaml

__all__ = ["CLUSTER_SCOPED", "build"]

CLUSTER_SCOPED = {"Namespace", "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding"}
KNOWN = {"apiVersion", "kind", "namespace", "labels", "resources", "configMapGenerator"}
KNOWN |= {"images", "patches"}


def build(directory: Path) -> list[dict[str, Any]]:
    spec = yaml.safe_load((directory / "kustomization.yaml").read_text())
    unknown = set(spec) - KNOWN
    if unknown:
        raise ValueError(f"{directory}: kustomization keys not supported here: {sorted(unknown)}")
    objects: list[dict[str, Any]] = []
    for entry in spec.get("resources") or []:
        path = (directory / entry).resolve()
        if path.is_dir():
            objects += build(path)
        else:
            objects += [o for o in yaml.safe_load_all(path.read_text()) if o]
    for generator in spec.get("configMapGenerator") or []:
        data = {Path(f).name: (directory / f).read_text() for f in generator["files"]}
        objects.append(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": generator["name"]},
                "data": data,
            }
        )
    objects = [copy.deepcopy(o) for o in objects]
    for patch in spec.get("patches") or []:
        target = patch["target"]
        matches = [
            o
            for o in objects
            if o["kind"] == target["kind"] and o["metadata"]["name"] == target["name"]
        ]
        if len(matches) != 1:
            raise ValueError(f"{directory}: patch target {target} matches {len(matches)} objects")
        operations = yaml.safe_load(patch["patch"])
        index = objects.index(matches[0])
        objects[index] = jsonpatch.apply_patch(matches[0], operations)
    for image in spec.get("images") or []:
        for obj in objects:
            for container in _containers(obj):
                name, _, _ = container["image"].partition(":")
                if name == image["name"]:
                    container["image"] = f"{image.get('newName', name)}:{image['newTag']}"
    namespace = spec.get("namespace")
    for obj in objects:
        if namespace and obj["kind"] not in CLUSTER_SCOPED:
            obj["metadata"]["namespace"] = namespace
        for labels in spec.get("labels") or []:
            obj["metadata"].setdefault("labels", {}).update(labels["pairs"])
    return objects


def _containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    if obj["kind"] != "Deployment":
        return []
    return list(obj["spec"]["template"]["spec"]["containers"])
