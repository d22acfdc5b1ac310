"""JSON objects shaped as GitHub's REST API returns them (checked against its OpenAPI
description in the tests)."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from envwake.sandbox.github.state import CheckRun, CommitStatus, PullRequest, Repository

__all__ = [
    "check_run",
    "combined_status",
    "commit",
    "commit_status",
    "git_ref",
    "iso",
    "pull_request",
    "repository",
    "user",
]

_REPO_URLS = {
    "archive_url": "/{archive_format}{/ref}",
    "assignees_url": "/assignees{/user}",
    "blobs_url": "/git/blobs{/sha}",
    "branches_url": "/branches{/branch}",
    "collaborators_url": "/collaborators{/collaborator}",
    "comments_url": "/comments{/number}",
    "commits_url": "/commits{/sha}",
    "compare_url": "/compare/{base}...{head}",
    "contents_url": "/contents/{+path}",
    "contributors_url": "/contributors",
    "deployments_url": "/deployments",
    "downloads_url": "/downloads",
    "events_url": "/events",
    "forks_url": "/forks",
    "git_commits_url": "/git/commits{/sha}",
    "git_refs_url": "/git/refs{/sha}",
    "git_tags_url": "/git/tags{/sha}",
    "hooks_url": "/hooks",
    "issue_comment_url": "/issues/comments{/number}",
    "issue_events_url": "/issues/events{/number}",
    "issues_url": "/issues{/number}",
    "keys_url": "/keys{/key_id}",
    "labels_url": "/labels{/name}",
    "languages_url": "/languages",
    "merges_url": "/merges",
    "milestones_url": "/milestones{/number}",
    "notifications_url": "/notifications{?since,all,participating}",
    "pulls_url": "/pulls{/number}",
    "releases_url": "/releases{/id}",
    "stargazers_url": "/stargazers",
    "statuses_url": "/statuses/{sha}",
    "subscribers_url": "/subscribers",
    "subscription_url": "/subscription",
    "tags_url": "/tags",
    "teams_url": "/teams",
    "trees_url": "/git/trees{/sha}",
}


def iso(instant: datetime | None) -> str | None:
    return instant.strftime("%Y-%m-%dT%H:%M:%SZ") if instant else None


def node_id(kind: str, number: int) -> str:
    return base64.b64encode(f"{kind}:{number}".encode()).decode()


def user(api: str, login: str, *, bot: bool = False) -> dict[str, Any]:
    url = f"{api}/users/{login}"
    return {
        "login": login,
        "id": abs(hash(login)) % 10_000_000,
        "node_id": node_id("User", abs(hash(login)) % 10_000_000),
        "avatar_url": "https://avatars.githubusercontent.com/u/0",
        "gravatar_id": "",
        "url": url,
        "html_url": f"{api}/{login}",
        "followers_url": f"{url}/followers",
        "following_url": f"{url}/following{{/other_user}}",
        "gists_url": f"{url}/gists{{/gist_id}}",
        "starred_url": f"{url}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{url}/subscriptions",
        "organizations_url": f"{url}/orgs",
        "repos_url": f"{url}/repos",
        "events_url": f"{url}/events{{/privacy}}",
        "received_events_url": f"{url}/received_events",
        "type": "Bot" if bot else "User",
        "site_admin": False,
    }


def repository(api: str, repo: Repository) -> dict[str, Any]:
    url = f"{api}/repos/{repo.full_name}"
    data: dict[str, Any] = {key: url + suffix for key, suffix in _REPO_URLS.items()}
    data.update(
        {
            "id": repo.id,
            "node_id": node_id("Repository", repo.id),
            "name": repo.name,
            "full_name": repo.full_name,
            "owner": user(api, repo.owner),
            "private": True,
            "html_url": f"{api}/{repo.full_name}",
            "description": None,
            "fork": False,
            "url": url,
            "clone_url": f"{api}/{repo.full_name}.git",
            "git_url": f"git://localhost/{repo.full_name}.git",
            "ssh_url": f"git@localhost:{repo.full_name}.git",
            "svn_url": f"{api}/{repo.full_name}",
            "mirror_url": None,
            "homepage": None,
            "language": None,
            "forks": 0,
            "forks_count": 0,
            "stargazers_count": 0,
            "watchers": 0,
            "watchers_count": 0,
            "size": 0,
            "default_branch": repo.default_branch,
            "open_issues": 0,
            "open_issues_count": 0,
            "has_issues": True,
            "has_projects": False,
            "has_wiki": False,
            "has_pages": False,
            "has_downloads": False,
            "archived": False,
            "disabled": False,
            "license": None,
            "pushed_at": None,
            "created_at": None,
            "updated_at": None,
        }
    )
    return data


def pull_request(api: str, repo: Repository, pr: PullRequest, *, full: bool) -> dict[str, Any]:
    url = f"{api}/repos/{repo.full_name}/pulls/{pr.number}"
    html = f"{api}/{repo.full_name}/pull/{pr.number}"
    issue = f"{api}/repos/{repo.full_name}/issues/{pr.number}"
    statuses = f"{api}/repos/{repo.full_name}/statuses/{pr.head_sha}"
    base_sha = repo.store.ref(pr.base) or ""
    data: dict[str, Any] = {
        "url": url,
        "id": pr.id,
        "node_id": node_id("PullRequest", pr.id),
        "html_url": html,
        "diff_url": f"{html}.diff",
        "patch_url": f"{html}.patch",
        "issue_url": issue,
        "commits_url": f"{url}/commits",
        "review_comments_url": f"{url}/comments",
        "review_comment_url": f"{api}/repos/{repo.full_name}/pulls/comments{{/number}}",
        "comments_url": f"{issue}/comments",
        "statuses_url": statuses,
        "number": pr.number,
        "state": pr.state,
        "locked": False,
        "title": pr.title,
        "user": user(api, pr.user, bot=True),
        "body": pr.body,
        "labels": [],
        "milestone": None,
        "created_at": iso(pr.created_at),
        "updated_at": iso(pr.updated_at),
        "closed_at": iso(pr.closed_at),
        "merged_at": iso(pr.merged_at),
        "merge_commit_sha": pr.merge_commit_sha,
        "assignee": None,
        "head": _branch(api, repo, pr.head, pr.head_sha),
        "base": _branch(api, repo, pr.base, base_sha),
        "_links": {
            name: {"href": href}
            for name, href in {
                "self": url,
                "html": html,
                "issue": issue,
                "comments": f"{issue}/comments",
                "review_comments": f"{url}/comments",
                "review_comment": f"{api}/repos/{repo.full_name}/pulls/comments{{/number}}",
                "commits": f"{url}/commits",
                "statuses": statuses,
            }.items()
        },
        "author_association": "NONE",
        "auto_merge": None,
        "draft": False,
    }
    if full:
        data.update(
            {
                "merged": pr.merged,
                "mergeable": None,
                "mergeable_state": "unknown",
                "merged_by": user(api, pr.user, bot=True) if pr.merged else None,
                "comments": len(pr.comments),
                "review_comments": 0,
                "maintainer_can_modify": False,
                "commits": 1,
                "additions": 0,
                "deletions": 0,
                "changed_files": 0,
            }
        )
    return data


def _branch(api: str, repo: Repository, ref: str, sha: str) -> dict[str, Any]:
    return {
        "label": f"{repo.owner}:{ref}",
        "ref": ref,
        "sha": sha,
        "user": user(api, repo.owner),
        "repo": repository(api, repo),
    }


def check_run(api: str, repo: Repository, run: CheckRun) -> dict[str, Any]:
    url = f"{api}/repos/{repo.full_name}/check-runs/{run.id}"
    return {
        "id": run.id,
        "node_id": node_id("CheckRun", run.id),
        "head_sha": run.head_sha,
        "external_id": str(run.id),
        "url": url,
        "html_url": f"{api}/{repo.full_name}/runs/{run.id}",
        "details_url": f"{api}/{repo.full_name}/runs/{run.id}",
        "status": run.status,
        "conclusion": run.conclusion,
        "started_at": iso(run.started_at),
        "completed_at": iso(run.completed_at),
        "output": {
            "title": None,
            "summary": None,
            "text": None,
            "annotations_count": 0,
            "annotations_url": f"{url}/annotations",
        },
        "name": run.name,
        "check_suite": {"id": run.id},
        "app": None,
        "pull_requests": [],
    }


def commit_status(api: str, repo: Repository, status: CommitStatus) -> dict[str, Any]:
    return {
        "url": f"{api}/repos/{repo.full_name}/statuses/{status.sha}",
        "avatar_url": None,
        "id": status.id,
        "node_id": node_id("StatusContext", status.id),
        "state": status.state,
        "description": status.description,
        "target_url": status.target_url,
        "context": status.context,
        "created_at": iso(status.created_at),
        "updated_at": iso(status.created_at),
        "creator": user(api, "ci-bot", bot=True),
    }


def combined_status(
    api: str, repo: Repository, sha: str, statuses: list[CommitStatus]
) -> dict[str, Any]:
    states = {s.state for s in statuses}
    if not statuses or "pending" in states:
        state = "pending"
    elif states & {"failure", "error"}:
        state = "failure"
    else:
        state = "success"
    return {
        "state": state,
        "sha": sha,
        "total_count": len(statuses),
        "statuses": [_simple_status(api, repo, s) for s in statuses],
        "repository": _minimal_repository(api, repo),
        "commit_url": f"{api}/repos/{repo.full_name}/commits/{sha}",
        "url": f"{api}/repos/{repo.full_name}/commits/{sha}/status",
    }


def git_ref(api: str, repo: Repository, ref: str, sha: str) -> dict[str, Any]:
    return {
        "ref": f"refs/{ref}",
        "node_id": base64.b64encode(f"Ref:{repo.full_name}:{ref}".encode()).decode(),
        "url": f"{api}/repos/{repo.full_name}/git/refs/{ref}",
        "object": {
            "type": "commit",
            "sha": sha,
            "url": f"{api}/repos/{repo.full_name}/git/commits/{sha}",
        },
    }


def commit(api: str, repo: Repository, info: dict[str, Any]) -> dict[str, Any]:
    """A commit as the commits and compare endpoints show it (the emulator's authors are
    not GitHub users, so ``author`` and ``committer`` are null, as GitHub has them then)."""
    sha, base = info["sha"], f"{api}/repos/{repo.full_name}"
    return {
        "url": f"{base}/commits/{sha}",
        "sha": sha,
        "node_id": node_id("Commit", int(sha[:8], 16)),
        "html_url": f"{api}/{repo.full_name}/commit/{sha}",
        "comments_url": f"{base}/commits/{sha}/comments",
        "commit": {
            "url": f"{base}/git/commits/{sha}",
            "author": info["author"],
            "committer": info["committer"],
            "message": info["message"],
            "comment_count": 0,
            "tree": {"sha": info["tree"], "url": f"{base}/git/trees/{info['tree']}"},
        },
        "author": None,
        "committer": None,
        "parents": [
            {
                "sha": p,
                "url": f"{base}/commits/{p}",
                "html_url": f"{api}/{repo.full_name}/commit/{p}",
            }
            for p in info["parents"]
        ],
    }


def _simple_status(api: str, repo: Repository, status: CommitStatus) -> dict[str, Any]:
    full = commit_status(api, repo, status)
    del full["creator"]
    full["required"] = None
    return full


def _minimal_repository(api: str, repo: Repository) -> dict[str, Any]:
    data = repository(api, repo)
    return {key: data[key] for key in _MINIMAL_KEYS if key in data}


_MINIMAL_KEYS = [
    "id",
    "node_id",
    "name",
    "full_name",
    "owner",
    "private",
    "html_url",
    "description",
    "fork",
    "url",
    "archive_url",
    "assignees_url",
    "blobs_url",
    "branches_url",
    "collaborators_url",
    "comments_url",
    "commits_url",
    "compare_url",
    "contents_url",
    "contributors_url",
    "deployments_url",
    "downloads_url",
    "events_url",
    "forks_url",
    "git_commits_url",
    "git_refs_url",
    "git_tags_url",
    "hooks_url",
    "issue_comment_url",
    "issue_events_url",
    "issues_url",
    "keys_url",
    "labels_url",
    "languages_url",
    "merges_url",
    "milestones_url",
    "notifications_url",
    "pulls_url",
    "releases_url",
    "stargazers_url",
    "statuses_url",
    "subscribers_url",
    "subscription_url",
    "tags_url",
    "teams_url",
    "trees_url",
]
