"""The sandbox as one Starlette app: github.com, api.github.com, www.openhumans.org, admin."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.routing import BaseRoute, Route

from sandbox import (
    admin,
    github_graphql,
    github_oauth,
    github_rest,
    github_search,
    openhumans_api,
    openhumans_oauth,
)
from sandbox.config import SandboxConfig
from sandbox.github_gate import GitHubGate
from sandbox.graphql_schema import load_schema
from sandbox.state import SandboxState, state_of


def _openhumans_routes(prefix: str) -> list[BaseRoute]:
    return [
        Route(
            f"{prefix}/direct-sharing/projects/oauth2/authorize/",
            openhumans_oauth.authorize,
            methods=["GET", "POST"],
        ),
        Route(f"{prefix}/oauth2/token/", openhumans_oauth.token, methods=["POST"]),
        Route(
            f"{prefix}/api/direct-sharing/project/exchange-member/", openhumans_api.exchange_member
        ),
        Route(
            f"{prefix}/api/direct-sharing/project/files/upload/direct/",
            openhumans_api.upload_direct,
            methods=["POST"],
        ),
        Route(
            f"{prefix}/api/direct-sharing/project/files/upload/complete/",
            openhumans_api.upload_complete,
            methods=["POST"],
        ),
        Route(
            f"{prefix}/api/direct-sharing/project/files/delete/",
            openhumans_api.delete_files,
            methods=["POST"],
        ),
        Route(
            f"{prefix}/api/direct-sharing/project/message/",
            openhumans_api.message,
            methods=["POST"],
        ),
    ]


def create_app(config: SandboxConfig | None = None) -> Starlette:
    """A sandbox with fresh state in ``app.state.sandbox`` (``/_sandbox/reset`` renews it)."""
    config = config or SandboxConfig()
    load_schema(config.graphql_schema_path)  # fail at start-up, not on the first query
    gate = GitHubGate(state_of)
    api = "/github-api"
    routes: list[BaseRoute] = [
        Route("/github/login/oauth/authorize", github_oauth.authorize, methods=["GET", "POST"]),
        Route("/github/login/oauth/access_token", github_oauth.access_token, methods=["POST"]),
        Route(f"{api}/user", gate.endpoint(github_rest.get_user, resource="core")),
        Route(f"{api}/user/repos", gate.endpoint(github_rest.list_user_repos, resource="core")),
        Route(
            f"{api}/repos/{{owner}}/{{repo}}", gate.endpoint(github_rest.get_repo, resource="core")
        ),
        Route(
            f"{api}/repos/{{owner}}/{{repo}}/commits",
            gate.endpoint(github_rest.list_commits, resource="core"),
        ),
        # Where GitHub redirects a renamed or transferred repository's former name.
        Route(
            f"{api}/repositories/{{repository_id:int}}",
            gate.endpoint(github_rest.get_repo, resource="core"),
        ),
        Route(
            f"{api}/repositories/{{repository_id:int}}/commits",
            gate.endpoint(github_rest.list_commits, resource="core"),
        ),
        Route(
            f"{api}/search/commits",
            gate.endpoint(github_search.search_commits, resource="search"),
        ),
        Route(f"{api}/rate_limit", gate.endpoint(github_rest.get_rate_limit, resource=None)),
        Route(
            f"{api}/graphql",
            gate.endpoint(github_graphql.graphql_endpoint, resource="graphql"),
            methods=["POST"],
        ),
        *_openhumans_routes("/openhumans"),
        # Also at the root: ohapi joins absolute paths (urljoin(base, "/api/...")) onto its base
        # URL, which drops any prefix.
        *_openhumans_routes(""),
        Route("/openhumans/data/{file_id:int}/download", openhumans_api.download, methods=["GET"]),
        Route("/storage/{key:path}", openhumans_api.storage, methods=["GET", "PUT"]),
        *admin.ROUTES,
    ]
    app = Starlette(routes=routes)
    app.state.sandbox = SandboxState.fresh(config)
    return app
