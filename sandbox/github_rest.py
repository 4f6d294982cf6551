"""api.github.com REST endpoints: /user, /user/repos, /repos/{owner}/{repo}[/commits] (also as
/repositories/{id}[/commits]), /search/commits, /rate_limit.

Shapes follow GitHub's OpenAPI description (the tests validate them with githubkit's models). A
repository asked for by a name it no longer has (renamed, transferred) answers 301 to its
``/repositories/{id}`` URL, as GitHub does; a deleted one answers 404.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from typing import Any
from urllib.parse import urlencode

from sandbox.data import CommitEvent, Member, Repo, stable_int
from sandbox.github_gate import DOCS, ApiCall, ApiResult
from shared.activity import parse_timestamp, utc_timestamp

DEFAULT_PER_PAGE = 30  # GitHub's default page size
MAX_PER_PAGE = 100  # GitHub's cap on per_page


def _ts(when: dt.datetime) -> str:
    return utc_timestamp(when)


def _node_id(prefix: str, number: int) -> str:
    return prefix + base64.b64encode(number.to_bytes(8, "big")).decode().rstrip("=")


def simple_user(login: str, user_id: int, api: str) -> dict[str, Any]:
    """GitHub's simple-user object (owners, commit authors)."""
    return {
        "login": login,
        "id": user_id,
        "node_id": _node_id("U_kgDO", user_id),
        "avatar_url": f"https://avatars.githubusercontent.com/u/{user_id}?v=4",
        "gravatar_id": "",
        "url": f"{api}/users/{login}",
        "html_url": f"https://github.com/{login}",
        "followers_url": f"{api}/users/{login}/followers",
        "following_url": f"{api}/users/{login}/following{{/other_user}}",
        "gists_url": f"{api}/users/{login}/gists{{/gist_id}}",
        "starred_url": f"{api}/users/{login}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{api}/users/{login}/subscriptions",
        "organizations_url": f"{api}/users/{login}/orgs",
        "repos_url": f"{api}/users/{login}/repos",
        "events_url": f"{api}/users/{login}/events{{/privacy}}",
        "received_events_url": f"{api}/users/{login}/received_events",
        "type": "User",
        "user_view_type": "public",
        "site_admin": False,
    }


def _owner(repo: Repo, api: str, now: dt.datetime) -> dict[str, Any]:
    owner = repo.owner_at(now)
    user = simple_user(owner, stable_int(f"github-user:{owner}", digits=8), api)
    if owner.endswith("-org"):
        user["type"] = "Organization"
    return user


def private_user(call: ApiCall) -> dict[str, Any]:
    member, now = call.member, call.state.clock.now()
    owned = [r for r in member.repos if r.exists_at(now)]
    private = sum(1 for r in owned if r.private)
    return {
        **simple_user(member.login, member.id, call.api_base),
        "name": member.name,
        "company": None,
        "blog": "",
        "location": None,
        "email": None,
        "notification_email": None,
        "hireable": None,
        "bio": None,
        "twitter_username": None,
        "public_repos": len(owned) - private,
        "public_gists": 0,
        "followers": 3,
        "following": 5,
        "created_at": _ts(member.created_at),
        # The profile's last change: fixed, as on github.com, so its ETag holds between syncs.
        "updated_at": _ts(member.created_at + dt.timedelta(days=1)),
        "private_gists": 0,
        "total_private_repos": private,
        "owned_private_repos": private,
        "disk_usage": 1024 * len(owned),
        "collaborators": 0,
        "two_factor_authentication": True,
        "plan": {"name": "free", "space": 976562499, "collaborators": 0, "private_repos": 10000},
    }


def _pushed_at(call: ApiCall, member: Member | None, repo: Repo) -> dt.datetime:
    if member is None:
        return repo.created_at
    latest = repo.created_at
    for commit in member.commits_until(call.state.clock.now()):
        if commit.repo.id == repo.id and commit.committed_at > latest:
            latest = commit.committed_at
    return latest


def repository_json(call: ApiCall, repo: Repo, member: Member | None) -> dict[str, Any]:
    now = call.state.clock.now()
    api, full = call.api_base, repo.full_name_at(now)
    url = f"{api}/repos/{full}"
    pushed = _pushed_at(call, member, repo)
    body: dict[str, Any] = {
        "id": repo.id,
        "node_id": _node_id("R_kgDO", repo.id),
        "name": repo.name_at(now),
        "full_name": full,
        "private": repo.private,
        "owner": _owner(repo, api, now),
        "html_url": repo.html_url_at(now),
        "description": repo.description,
        "fork": repo.fork,
        "url": url,
        "homepage": None,
        "language": repo.language,
        "forks_count": 0,
        "stargazers_count": repo.id % 17,
        "watchers_count": repo.id % 17,
        "size": 100 + repo.id % 5000,
        "default_branch": repo.default_branch,
        "open_issues_count": 0,
        "is_template": False,
        "topics": [],
        "has_issues": True,
        "has_projects": True,
        "has_wiki": True,
        "has_pages": False,
        "has_downloads": True,
        "has_discussions": False,
        "archived": False,
        "disabled": False,
        "visibility": "private" if repo.private else "public",
        "pushed_at": _ts(pushed),
        "created_at": _ts(repo.created_at),
        "updated_at": _ts(pushed),
        "permissions": {
            "admin": repo.owned,
            "maintain": repo.owned,
            "push": repo.owned,
            "triage": repo.owned,
            "pull": True,
        },
        "allow_forking": True,
        "web_commit_signoff_required": False,
        "license": None,
        "forks": 0,
        "open_issues": 0,
        "watchers": repo.id % 17,
        "mirror_url": None,
        "git_url": f"git://github.com/{full}.git",
        "ssh_url": f"git@github.com:{full}.git",
        "clone_url": f"https://github.com/{full}.git",
        "svn_url": f"https://github.com/{full}",
    }
    for name, suffix in (
        ("archive_url", "/{archive_format}{/ref}"),
        ("assignees_url", "/assignees{/user}"),
        ("blobs_url", "/git/blobs{/sha}"),
        ("branches_url", "/branches{/branch}"),
        ("collaborators_url", "/collaborators{/collaborator}"),
        ("comments_url", "/comments{/number}"),
        ("commits_url", "/commits{/sha}"),
        ("compare_url", "/compare/{base}...{head}"),
        ("contents_url", "/contents/{+path}"),
        ("contributors_url", "/contributors"),
        ("deployments_url", "/deployments"),
        ("downloads_url", "/downloads"),
        ("events_url", "/events"),
        ("forks_url", "/forks"),
        ("git_commits_url", "/git/commits{/sha}"),
        ("git_refs_url", "/git/refs{/sha}"),
        ("git_tags_url", "/git/tags{/sha}"),
        ("hooks_url", "/hooks"),
        ("issue_comment_url", "/issues/comments{/number}"),
        ("issue_events_url", "/issues/events{/number}"),
        ("issues_url", "/issues{/number}"),
        ("keys_url", "/keys{/key_id}"),
        ("labels_url", "/labels{/name}"),
        ("languages_url", "/languages"),
        ("merges_url", "/merges"),
        ("milestones_url", "/milestones{/number}"),
        ("notifications_url", "/notifications{?since,all,participating}"),
        ("pulls_url", "/pulls{/number}"),
        ("releases_url", "/releases{/id}"),
        ("stargazers_url", "/stargazers"),
        ("statuses_url", "/statuses/{sha}"),
        ("subscribers_url", "/subscribers"),
        ("subscription_url", "/subscription"),
        ("tags_url", "/tags"),
        ("teams_url", "/teams"),
        ("trees_url", "/git/trees{/sha}"),
    ):
        body[name] = url + suffix
    return body


def commit_json(call: ApiCall, commit: CommitEvent, member: Member) -> dict[str, Any]:
    now = call.state.clock.now()
    api, full = call.api_base, commit.repo.full_name_at(now)
    person = {"name": member.name, "email": member.email}
    parent = hashlib.sha1(f"parent:{commit.sha}".encode()).hexdigest()
    tree = hashlib.sha1(f"tree:{commit.sha}".encode()).hexdigest()
    return {
        "sha": commit.sha,
        "node_id": "C_kwDO" + base64.b64encode(bytes.fromhex(commit.sha[:24])).decode(),
        "commit": {
            "author": {**person, "date": _ts(commit.authored_at)},
            "committer": {**person, "date": _ts(commit.committed_at)},
            "message": commit.message,
            "tree": {"sha": tree, "url": f"{api}/repos/{full}/git/trees/{tree}"},
            "url": f"{api}/repos/{full}/git/commits/{commit.sha}",
            "comment_count": 0,
            "verification": {
                "verified": False,
                "reason": "unsigned",
                "signature": None,
                "payload": None,
                "verified_at": None,
            },
        },
        "url": f"{api}/repos/{full}/commits/{commit.sha}",
        "html_url": commit.html_url_at(now),
        "comments_url": f"{api}/repos/{full}/commits/{commit.sha}/comments",
        "author": simple_user(member.login, member.id, api),
        "committer": simple_user(member.login, member.id, api),
        "parents": [
            {
                "sha": parent,
                "url": f"{api}/repos/{full}/commits/{parent}",
                "html_url": f"https://github.com/{full}/commit/{parent}",
            }
        ],
    }


def _error(status: int, message: str, docs: str = DOCS) -> ApiResult:
    return ApiResult(status, {"message": message, "documentation_url": docs, "status": str(status)})


def paginate(call: ApiCall, items: list[Any]) -> tuple[list[Any], dict[str, str]] | ApiResult:
    """One page of ``items`` and its ``Link`` header, as GitHub builds them."""
    query = call.request.query_params
    try:
        per_page = min(MAX_PER_PAGE, max(1, int(query.get("per_page", DEFAULT_PER_PAGE))))
        page = max(1, int(query.get("page", 1)))
    except ValueError:
        return _error(422, "Invalid request.")
    last = max(1, -(-len(items) // per_page))
    chunk = items[(page - 1) * per_page : page * per_page]
    base = str(call.request.url).split("?", 1)[0]
    params = [(k, v) for k, v in query.multi_items() if k != "page"]

    def link(number: int, rel: str) -> str:
        return f'<{base}?{urlencode([*params, ("page", str(number))])}>; rel="{rel}"'

    links = []
    if page > 1:
        links.append(link(min(page - 1, last), "prev"))
    if page < last:
        links.append(link(page + 1, "next"))
        links.append(link(last, "last"))
    if page > 1:
        links.append(link(1, "first"))
    return chunk, ({"link": ", ".join(links)} if links else {})


async def get_user(call: ApiCall) -> ApiResult:
    return ApiResult(200, private_user(call))


async def list_user_repos(call: ApiCall) -> ApiResult:
    query, now = call.request.query_params, call.state.clock.now()
    visibility = query.get("visibility", "all")
    if visibility not in ("all", "public", "private"):
        return _error(422, "Validation Failed")
    affiliation = query.get("affiliation", "owner,collaborator,organization_member")
    repos = [r for r in call.member.repos if r.exists_at(now)]
    if "owner" not in affiliation.split(","):
        repos = []
    if not call.token.can_read_private or visibility == "public":
        repos = [r for r in repos if not r.private]
    if visibility == "private":
        repos = [r for r in repos if r.private]
    repos.sort(key=lambda r: r.full_name_at(now).lower())  # GitHub's default sort: full_name
    paged = paginate(call, repos)
    if isinstance(paged, ApiResult):
        return paged
    chunk, headers = paged
    return ApiResult(200, [repository_json(call, r, call.member) for r in chunk], headers)


def _find_repo(call: ApiCall) -> tuple[Repo, Member] | ApiResult:
    """The repository the path names, with the member whose history holds it.

    By id (``/repositories/{id}``), by its current name, or by a former name: then 301 to its
    ``/repositories/{id}`` URL (path and query kept), as GitHub answers for renamed and
    transferred repositories. Deleted, not yet created, or private and not readable: 404.
    """
    now, params = call.state.clock.now(), call.request.path_params
    holders = [call.member]
    owner = call.state.directory.get(str(params.get("owner", "")))
    if owner is not None and owner.id != call.member.id:
        holders.append(owner)
    found: tuple[Repo, Member] | None = None
    for holder in holders:
        if "repository_id" in params:
            repo = holder.repo_by_id(int(params["repository_id"]))
        else:
            full_name = f"{params['owner']}/{params['repo']}"
            repo = holder.repo(full_name, now)
            moved = holder.renamed_repo(full_name, now) if repo is None else None
            if moved is not None and moved.exists_at(now):
                return _moved(call, moved)
        if repo is not None:
            found = (repo, holder)
            break
    if found is None or not found[0].exists_at(now):
        return _error(404, "Not Found", f"{DOCS}/repos/repos#get-a-repository")
    repo, holder = found
    readable = call.token.can_read_private and holder.id == call.member.id
    if repo.private and not readable:
        return _error(404, "Not Found", f"{DOCS}/repos/repos#get-a-repository")
    return repo, holder


def _moved(call: ApiCall, repo: Repo) -> ApiResult:
    """GitHub's answer for a repository's former name: 301 to the same path under its id."""
    params, url = call.request.path_params, call.request.url
    prefix = f"/github-api/repos/{params['owner']}/{params['repo']}"
    rest = url.path[len(prefix) :] if url.path.lower().startswith(prefix.lower()) else ""
    location = f"{call.api_base}/repositories/{repo.id}{rest}"
    if url.query:
        location += f"?{url.query}"
    body = {
        "message": "Moved Permanently",
        "url": location,
        "documentation_url": f"{DOCS}/guides/best-practices-for-using-the-rest-api"
        "#follow-redirects",
    }
    return ApiResult(301, body, {"location": location})


async def get_repo(call: ApiCall) -> ApiResult:
    found = _find_repo(call)
    if isinstance(found, ApiResult):
        return found
    repo, holder = found
    body = repository_json(call, repo, holder)
    body["subscribers_count"] = 1
    body["network_count"] = 0
    return ApiResult(200, body)


def _parse_time(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    return parse_timestamp(text if ("T" in text) else f"{text}T00:00:00Z")


async def list_commits(call: ApiCall) -> ApiResult:
    found = _find_repo(call)
    if isinstance(found, ApiResult):
        return found
    repo, member = found
    now = call.state.clock.now()
    history = [c for c in member.commits_until(now) if c.repo.id == repo.id]
    if not history and not repo.fork and repo.owned:
        return _error(409, "Git Repository is empty.", f"{DOCS}/commits/commits#list-commits")
    query = call.request.query_params
    try:
        since, until = _parse_time(query.get("since")), _parse_time(query.get("until"))
    except ValueError:
        return _error(422, "Invalid value for `since` or `until`.")
    author = query.get("author")
    if author and author.lower() not in (member.login.lower(), member.email.lower()):
        history = []
    history = [
        c
        for c in history
        if (since is None or c.committed_at >= since) and (until is None or c.committed_at <= until)
    ]
    history.sort(key=lambda c: (c.committed_at, c.sha), reverse=True)  # newest first
    paged = paginate(call, history)
    if isinstance(paged, ApiResult):
        return paged
    chunk, headers = paged
    return ApiResult(200, [commit_json(call, c, member) for c in chunk], headers)


async def get_rate_limit(call: ApiCall) -> ApiResult:
    now_s = call.state.clock.now_s()
    resources = {}
    for resource in ("core", "graphql", "search"):
        window = call.state.limiter.window(call.member.id, resource, now_s)
        resources[resource] = {
            "limit": window.limit,
            "used": window.used,
            "remaining": window.remaining,
            "reset": window.reported_reset_s,
        }
    return ApiResult(200, {"resources": resources, "rate": resources["core"]}, cost=0)
