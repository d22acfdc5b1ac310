"""The REST endpoints, as aiohttp handlers over ``GitHubService``."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from envwake.sandbox.github import shapes
from envwake.sandbox.github.service import GitHubService, HttpError
from envwake.sandbox.github.state import CheckRun, CommitStatus, Token

__all__ = ["routes"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
SERVICE = web.AppKey("service", GitHubService)
API_URL = web.AppKey("api_url", list)  # [url]: known only once the port is bound


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status)


def _service(request: web.Request) -> GitHubService:
    return request.app[SERVICE]


def _api(request: web.Request) -> str:
    return str(request.app[API_URL][0])


def _token(request: web.Request) -> Token:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() not in ("token", "bearer") or not value or value.count(".") == 2:
        raise HttpError(401, "Requires authentication")
    return _service(request).token(value.strip())


async def _body(request: web.Request) -> dict[str, Any]:
    if not request.body_exists:  # (a body already read stays readable: aiohttp keeps it)
        return {}
    try:
        data = await request.json()
    except json.JSONDecodeError:
        raise HttpError(400, "Problems parsing JSON") from None
    return data if isinstance(data, dict) else {}


async def access_token(request: web.Request) -> web.StreamResponse:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer":
        raise HttpError(401, "A JSON web token could not be decoded")
    service = _service(request)
    app = service.app_from_jwt(value)
    body = await _body(request)
    with service.state.lock:
        token = service.issue_token(
            app,
            int(request.match_info["installation_id"]),
            body.get("repositories"),
            body.get("permissions"),
        )
        repos = [service.state.repositories[name] for name in sorted(token.repositories)]
    return _json(
        {
            "token": token.value,
            "expires_at": shapes.iso(token.expires_at),
            "permissions": token.permissions,
            "repository_selection": "selected",
            "repositories": [shapes.repository(_api(request), repo) for repo in repos],
        },
        status=201,
    )


async def revoke_token(request: web.Request) -> web.StreamResponse:
    token = _token(request)
    with _service(request).state.lock:
        token.revoked = True
    return web.Response(status=204)


def _repo(request: web.Request, permission: str, level: str = "read") -> Any:
    full_name = f"{request.match_info['owner']}/{request.match_info['repo']}"
    service = _service(request)
    repo = service.authorize(_token(request), full_name, permission, level)
    service.refresh(repo)
    return repo


async def list_pulls(request: web.Request) -> web.StreamResponse:
    service = _service(request)
    with service.state.lock:
        repo = _repo(request, "pull_requests")
        state = request.query.get("state", "open")
        head = request.query.get("head")
        base = request.query.get("base")
        pulls = [
            pr
            for pr in sorted(repo.pulls.values(), key=lambda p: -p.number)
            if (state == "all" or pr.state == state)
            and (head is None or f"{repo.owner}:{pr.head}" == head)
            and (base is None or pr.base == base)
        ]
        return _json([shapes.pull_request(_api(request), repo, pr, full=False) for pr in pulls])


async def create_pull(request: web.Request) -> web.StreamResponse:
    service = _service(request)
    body = await _body(request)
    with service.state.lock:
        repo = _repo(request, "pull_requests", "write")
        head = str(body.get("head", "")).split(":")[-1]
        pr = service.open_pull(
            repo,
            head=head,
            base=str(body.get("base", "")),
            title=str(body.get("title", "")),
            body=body.get("body"),
            user="envwake[bot]",
        )
        return _json(_full_pull(request, repo, pr), status=201)


def _full_pull(request: web.Request, repo: Any, pr: Any) -> dict[str, Any]:
    data = shapes.pull_request(_api(request), repo, pr, full=True)
    data["mergeable"], data["mergeable_state"] = _service(request).mergeability(repo, pr)
    return data


def _pull(repo: Any, request: web.Request) -> Any:
    pr = repo.pulls.get(int(request.match_info["number"]))
    if pr is None:
        raise HttpError(404, "Not Found")
    return pr


async def get_pull(request: web.Request) -> web.StreamResponse:
    service = _service(request)
    with service.state.lock:
        repo = _repo(request, "pull_requests")
        return _json(_full_pull(request, repo, _pull(repo, request)))


async def update_pull(request: web.Request) -> web.StreamResponse:
    service = _service(request)
    body = await _body(request)
    with service.state.lock:
        repo = _repo(request, "pull_requests", "write")
        pr = _pull(repo, request)
        if body.get("state") == "closed" and pr.state == "open":
            pr.state, pr.closed_at = "closed", service.state.now()
        if "body" in body:
            pr.body = body["body"]
        pr.updated_at = service.state.now()
        return _json(_full_pull(request, repo, pr))


async def merge_pull(request: web.Request) -> web.StreamResponse:
    service = _service(request)
    body = await _body(request)
    with service.state.lock:
        repo = _repo(request, "contents", "write")
        service.authorize(_token(request), repo.full_name, "pull_requests", "write")
        pr = _pull(repo, request)
        sha = service.merge(
            repo, pr, method=str(body.get("merge_method", "merge")), sha=body.get("sha")
        )
        return _json({"sha": sha, "merged": True, "message": "Pull Request successfully merged"})


async def comment(request: web.Request) -> web.StreamResponse:
    service = _service(request)
    body = await _body(request)
    with service.state.lock:
        repo = _repo(request, "pull_requests", "write")
        pr = _pull(repo, request)
        pr.comments.append(str(body.get("body", "")))
        now = shapes.iso(service.state.now())
        number = service.state.next_id()
        url = f"{_api(request)}/repos/{repo.full_name}/issues/comments/{number}"
        return _json(
            {
                "id": number,
                "node_id": shapes.node_id("IssueComment", number),
                "url": url,
                "html_url": f"{_api(request)}/{repo.full_name}/pull/{pr.number}"
                f"#issuecomment-{number}",
                "issue_url": f"{_api(request)}/repos/{repo.full_name}/issues/{pr.number}",
                "body": pr.comments[-1],
                "user": shapes.user(_api(request), "envwake[bot]", bot=True),
                "created_at": now,
                "updated_at": now,
                "author_association": "NONE",
            },
            status=201,
        )


def _sha(repo: Any, ref: str) -> str:
    return str(repo.store.ref(ref) or ref)


async def check_runs(request: web.Request) -> web.StreamResponse:
    service = _service(request)
    with service.state.lock:
        repo = _repo(request, "checks")
        sha = _sha(repo, request.match_info["ref"])
        name, status = request.query.get("check_name"), request.query.get("status")
        runs = [
            r
            for r in service.latest_runs(repo, sha)
            if (name is None or r.name == name) and (status is None or r.status == status)
        ]
        return _json(
            {
                "total_count": len(runs),
                "check_runs": [shapes.check_run(_api(request), repo, r) for r in runs],
            }
        )


async def combined_status(request: web.Request) -> web.StreamResponse:
    service = _service(request)
    with service.state.lock:
        repo = _repo(request, "statuses")
        sha = _sha(repo, request.match_info["ref"])
        return _json(
            shapes.combined_status(_api(request), repo, sha, service.latest_statuses(repo, sha))
        )


async def create_check_run(request: web.Request) -> web.StreamResponse:
    service = _service(request)
    body = await _body(request)
    with service.state.lock:
        repo = _repo(request, "checks", "write")
        now = service.state.now()
        completed = body.get("status") == "completed" or body.get("conclusion") is not None
        run = CheckRun(
            service.state.next_id(),
            str(body["head_sha"]),
            str(body["name"]),
            "completed" if completed else str(body.get("status", "queued")),
            body.get("conclusion"),
            now,
            now if completed else None,
            None,
        )
        repo.add_check_run(run)
        return _json(shapes.check_run(_api(request), repo, run), status=201)


async def create_status(request: web.Request) -> web.StreamResponse:
    service = _service(request)
    body = await _body(request)
    with service.state.lock:
        repo = _repo(request, "statuses", "write")
        status = CommitStatus(
            service.state.next_id(),
            request.match_info["sha"],
            str(body.get("context", "default")),
            str(body["state"]),
            body.get("target_url"),
            body.get("description"),
            service.state.now(),
        )
        repo.statuses.append(status)
        return _json(shapes.commit_status(_api(request), repo, status), status=201)


async def branch_rules(request: web.Request) -> web.StreamResponse:
    service = _service(request)
    with service.state.lock:
        repo = _repo(request, "contents")
        rules: list[dict[str, Any]] = []
        source = {
            "ruleset_source_type": "Repository",
            "ruleset_source": repo.full_name,
            "ruleset_id": 1,
        }
        if request.match_info["branch"] == repo.default_branch:
            if repo.required_checks:
                rules.append(
                    {
                        "type": "required_status_checks",
                        "parameters": {
                            "required_status_checks": [
                                {"context": name} for name in repo.required_checks
                            ],
                            "strict_required_status_checks_policy": False,
                        },
                        **source,
                    }
                )
            if repo.merge_queue:
                rules.append(
                    {
                        "type": "merge_queue",
                        "parameters": {
                            "check_response_timeout_minutes": 60,
                            "grouping_strategy": "ALLGREEN",
                            "max_entries_to_build": 5,
                            "max_entries_to_merge": 5,
                            "merge_method": "MERGE",
                            "min_entries_to_merge": 1,
                            "min_entries_to_merge_wait_minutes": 0,
                        },
                        **source,
                    }
                )
        return _json(rules)


async def delete_ref(request: web.Request) -> web.StreamResponse:
    service = _service(request)
    with service.state.lock:
        repo = _repo(request, "contents", "write")
        ref = request.match_info["ref"]
        if not ref.startswith("heads/") or repo.store.ref(ref.removeprefix("heads/")) is None:
            raise HttpError(422, "Reference does not exist")
        branch = ref.removeprefix("heads/")
        repo.store.delete_ref(branch)
        for pr in repo.pulls.values():  # GitHub closes a pull request whose head is deleted
            if pr.state == "open" and pr.head == branch:
                pr.state, pr.closed_at = "closed", service.state.now()
        return web.Response(status=204)


async def matching_refs(request: web.Request) -> web.StreamResponse:
    service = _service(request)
    with service.state.lock:
        repo = _repo(request, "contents")
        prefix = request.match_info["ref"]
        found = [
            shapes.git_ref(_api(request), repo, f"heads/{branch}", sha)
            for branch, sha in sorted(repo.store.refs().items())
            if f"heads/{branch}".startswith(prefix)
        ]
        return _json(found)


async def compare(request: web.Request) -> web.StreamResponse:
    service = _service(request)
    with service.state.lock:
        repo = _repo(request, "contents")
        base_ref, separator, head_ref = request.match_info["basehead"].partition("...")
        if not separator:
            raise HttpError(404, "Not Found")
        try:
            base, head = _sha(repo, base_ref), _sha(repo, head_ref)
            status, ahead, behind, merge_base = repo.store.compare(base, head)
            limit = int(request.query.get("per_page", "250"))
            commits = repo.store.commits_between(base, head, limit=limit)
            api = _api(request)
            data = {
                "url": f"{api}/repos/{repo.full_name}/compare/{base_ref}...{head_ref}",
                "html_url": f"{api}/{repo.full_name}/compare/{base_ref}...{head_ref}",
                "permalink_url": f"{api}/{repo.full_name}/compare/{base}...{head}",
                "diff_url": f"{api}/{repo.full_name}/compare/{base_ref}...{head_ref}.diff",
                "patch_url": f"{api}/{repo.full_name}/compare/{base_ref}...{head_ref}.patch",
                "base_commit": shapes.commit(api, repo, repo.store.commit(base)),
                "merge_base_commit": shapes.commit(api, repo, repo.store.commit(merge_base)),
                "status": status,
                "ahead_by": ahead,
                "behind_by": behind,
                "total_commits": ahead,
                "commits": [shapes.commit(api, repo, repo.store.commit(c)) for c in commits],
                "files": [],
            }
        except subprocess.CalledProcessError:  # an unknown commit, as GitHub says it
            raise HttpError(404, f"No commit found for SHA: {head_ref}") from None
        return _json(data)


async def graphql(request: web.Request) -> web.StreamResponse:
    """Just ``enqueuePullRequest`` (merge queues)."""
    service = _service(request)
    body = await _body(request)
    token = _token(request)
    query = str(body.get("query", ""))
    if "enqueuePullRequest" not in query:
        return _json({"errors": [{"message": "only enqueuePullRequest is emulated"}]})
    node = str(
        (body.get("variables") or {}).get("pullRequestId")
        or (body.get("variables") or {}).get("input", {}).get("pullRequestId", "")
    )
    with service.state.lock:
        for repo in service.state.repositories.values():
            for pr in repo.pulls.values():
                if shapes.node_id("PullRequest", pr.id) == node:
                    service.authorize(token, repo.full_name, "pull_requests", "write")
                    pr.queued = True
                    entry = {"id": shapes.node_id("MergeQueueEntry", pr.id), "state": "QUEUED"}
                    return _json({"data": {"enqueuePullRequest": {"mergeQueueEntry": entry}}})
    return _json(
        {
            "data": None,
            "errors": [
                {
                    "type": "NOT_FOUND",
                    "message": f"Could not resolve to a node with the global id of '{node}'",
                }
            ],
        }
    )


def routes() -> list[web.RouteDef]:
    repo = "/repos/{owner}/{repo}"
    return [
        web.post("/app/installations/{installation_id}/access_tokens", access_token),
        web.delete("/installation/token", revoke_token),
        web.get(f"{repo}/pulls", list_pulls),
        web.post(f"{repo}/pulls", create_pull),
        web.get(f"{repo}/pulls/{{number}}", get_pull),
        web.patch(f"{repo}/pulls/{{number}}", update_pull),
        web.put(f"{repo}/pulls/{{number}}/merge", merge_pull),
        web.post(f"{repo}/issues/{{number}}/comments", comment),
        web.get(f"{repo}/commits/{{ref}}/check-runs", check_runs),
        web.get(f"{repo}/commits/{{ref}}/status", combined_status),
        web.post(f"{repo}/check-runs", create_check_run),
        web.post(f"{repo}/statuses/{{sha}}", create_status),
        web.get(f"{repo}/rules/branches/{{branch:.+}}", branch_rules),
        web.delete(f"{repo}/git/refs/{{ref:.+}}", delete_ref),
        web.get(f"{repo}/git/matching-refs/{{ref:.+}}", matching_refs),
        web.get(f"{repo}/compare/{{basehead:.+}}", compare),
        web.post("/graphql", graphql),
    ]
