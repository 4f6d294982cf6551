"""authlib clients of Open Humans and GitHub, configured from the settings.

authlib keeps each flow's ``state`` and PKCE verifier in the session and checks them on the
callback. Both providers take PKCE with S256 (Open Humans through django-oauth-toolkit, GitHub
since July 2025). Open Humans wants the client to authenticate with HTTP Basic; GitHub takes the
credentials in the form.
"""

from __future__ import annotations

from authlib.integrations.starlette_client import OAuth

from shared.settings import Settings

OPENHUMANS = "openhumans"
GITHUB = "github"
# GitHub scopes: public activity only, or private repositories too.
SCOPE_PUBLIC = "read:user"
SCOPE_PRIVATE = "repo read:user"
# PKCE: the token request must prove it comes from the browser session that asked for the code.
PKCE_METHOD = "S256"


def build_oauth(settings: Settings) -> OAuth:
    oauth = OAuth()
    openhumans_url = settings.openhumans_url.rstrip("/")
    github_url = settings.github_web_url.rstrip("/")
    oauth.register(
        name=OPENHUMANS,
        client_id=settings.openhumans_client_id,
        client_secret=settings.openhumans_client_secret,
        authorize_url=f"{openhumans_url}/direct-sharing/projects/oauth2/authorize/",
        access_token_url=f"{openhumans_url}/oauth2/token/",
        client_kwargs={
            "token_endpoint_auth_method": "client_secret_basic",
            "code_challenge_method": PKCE_METHOD,
            "timeout": settings.http_timeout_s,
        },
    )
    oauth.register(
        name=GITHUB,
        client_id=settings.github_client_id,
        client_secret=settings.github_client_secret,
        authorize_url=f"{github_url}/login/oauth/authorize",
        access_token_url=f"{github_url}/login/oauth/access_token",
        client_kwargs={
            "token_endpoint_auth_method": "client_secret_post",
            "code_challenge_method": PKCE_METHOD,
            "timeout": settings.http_timeout_s,
        },
    )
    return oauth


def callback_url(settings: Settings, provider: str) -> str:
    """The redirect URI registered with ``provider`` for this deployment."""
    return f"{settings.app_base_url.rstrip('/')}/auth/{provider}/callback"
