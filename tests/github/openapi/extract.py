"""Extract the GitHub REST operations envwake uses from @octokit/openapi.

The subset (``github-subset.json``) is committed so that tests need no npm. To refresh:

    npm pack @octokit/openapi@23.0.2 && tar xzf octokit-openapi-23.0.2.tgz
    python tests/github/openapi/extract.py package/generated/api.github.com.json

It keeps each listed operation and every component it references, transitively, and
records the source package and version.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

SOURCE = "@octokit/openapi 23.0.2, generated/api.github.com.json"
OPERATIONS = [
    ("post", "/app/installations/{installation_id}/access_tokens"),
    ("delete", "/installation/token"),
    ("get", "/repos/{owner}/{repo}"),
    ("get", "/repos/{owner}/{repo}/pulls"),
    ("post", "/repos/{owner}/{repo}/pulls"),
    ("get", "/repos/{owner}/{repo}/pulls/{pull_number}"),
    ("patch", "/repos/{owner}/{repo}/pulls/{pull_number}"),
    ("put", "/repos/{owner}/{repo}/pulls/{pull_number}/merge"),
    ("post", "/repos/{owner}/{repo}/issues/{issue_number}/comments"),
    ("get", "/repos/{owner}/{repo}/commits/{ref}/check-runs"),
    ("get", "/repos/{owner}/{repo}/commits/{ref}/status"),
    ("post", "/repos/{owner}/{repo}/check-runs"),
    ("post", "/repos/{owner}/{repo}/statuses/{sha}"),
    ("get", "/repos/{owner}/{repo}/rules/branches/{branch}"),
    ("delete", "/repos/{owner}/{repo}/git/refs/{ref}"),
    ("get", "/repos/{owner}/{repo}/git/ref/{ref}"),
    ("get", "/repos/{owner}/{repo}/git/matching-refs/{ref}"),
    ("get", "/repos/{owner}/{repo}/compare/{basehead}"),
]


def refs(node: object, found: set[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            found.add(ref)
        for value in node.values():
            refs(value, found)
    elif isinstance(node, list):
        for value in node:
            refs(value, found)


def main(spec_path: str) -> None:
    spec = json.loads(Path(spec_path).read_text())
    paths: dict[str, dict[str, object]] = {}
    for method, path in OPERATIONS:
        paths.setdefault(path, {})[method] = spec["paths"][path][method]
    components: dict[str, dict[str, object]] = {}
    pending: set[str] = set()
    refs(paths, pending)
    seen: set[str] = set()
    while pending:
        ref = pending.pop()
        if ref in seen:
            continue
        seen.add(ref)
        _, _, section, name = ref.split("/")
        node = spec["components"][section][name]
        components.setdefault(section, {})[name] = node
        refs(node, pending)
    subset = {
        "openapi": spec["openapi"],
        "info": {
            "title": spec["info"]["title"],
            "version": spec["info"]["version"],
            "x-envwake-source": SOURCE,
        },
        "paths": paths,
        "components": components,
    }
    out = Path(__file__).with_name("github-subset.json")
    out.write_text(json.dumps(subset, indent=1, sort_keys=True) + "\n")
    print(f"{len(OPERATIONS)} operations, {len(seen)} components -> {out}")


if __name__ == "__main__":
    main(sys.argv[1])
