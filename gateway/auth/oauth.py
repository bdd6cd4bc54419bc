"""Login with OpenID Connect (CILogon, Globus Auth, Keycloak, ...) or plain OAuth 2 (GitHub).

`/login/{provider}` sends the browser to the provider with an authorization-code request that
carries state, a nonce and a PKCE S256 challenge (authlib keeps them in the signed session);
`/auth/callback` exchanges the code, and for OIDC providers authlib checks the ID token's RS256
signature against the provider's JWKS (from discovery), its issuer, audience, expiry and nonce.
A provider that returns no ID token is refused: only `kind = "oauth2"` providers log in
through their userinfo endpoint. `POST /logout` ends the session (CSRF-checked).

Ready-made settings for the usual providers are in `PRESETS` (and docs/login.md).
"""

from __future__ import annotations

import logging
from typing import Any

import httpx
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.starlette_client import OAuth, StarletteOAuth2App
from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from joserfc.errors import JoseError

from gateway.auth.sessions import (
    end_session,
    remember_next,
    require_csrf,
    start_session,
    take_next,
)
from gateway.deps import SessionDep, SettingsDep, WebUser
from gateway.errors import AerieError, NotFound, Unauthenticated
from gateway.services import audit, logins
from gateway.settings import OIDCProvider, Settings

log = logging.getLogger(__name__)

PROVIDER_SESSION_KEY = "oidc_provider"
CALLBACK_PATH = "/auth/callback"

PRESETS: dict[str, dict[str, Any]] = {
    "cilogon": {
        "issuer": "https://cilogon.org",
        "scopes": ["openid", "email", "profile", "org.cilogon.userinfo"],
        "display_name": "CILogon (ACCESS)",
    },
    "globus": {
        "issuer": "https://auth.globus.org",
        "scopes": ["openid", "email", "profile"],
        "display_name": "Globus",
    },
    "keycloak": {
        "issuer": "https://keycloak.example.org/realms/REALM",
        "scopes": ["openid", "email", "profile"],
        "display_name": "Keycloak",
    },
    "github": {
        "kind": "oauth2",
        "issuer": "https://github.com",
        "authorize_url": "https://github.com/login/oauth/authorize",
        "token_url": "https://github.com/login/oauth/access_token",
        "userinfo_url": "https://api.github.com/user",
        "scopes": ["read:user", "user:email"],
        "display_name": "GitHub",
    },
}
"""Settings for common providers; fill in client_id / client_secret (and the Keycloak realm)."""


class ProviderUnavailable(AerieError):
    """The identity provider cannot be reached or answers nonsense (try again later)."""

    status_code = 503
    code = "provider_unavailable"


class LoginProviders:
    """The configured providers as authlib clients (metadata fetched lazily, then cached)."""

    def __init__(self, settings: Settings) -> None:
        self.oauth = OAuth()
        self.configs: dict[str, OIDCProvider] = {}
        for provider in settings.oidc_providers:
            self.configs[provider.name] = provider
            kwargs: dict[str, Any] = {
                "client_id": provider.client_id,
                "client_secret": provider.client_secret.get_secret_value(),
                "client_kwargs": {
                    "scope": " ".join(provider.scopes),
                    "code_challenge_method": "S256",
                },
            }
            if provider.kind == "oidc":
                issuer = provider.issuer.rstrip("/")
                kwargs["server_metadata_url"] = f"{issuer}/.well-known/openid-configuration"
            else:
                kwargs.update(
                    authorize_url=provider.authorize_url,
                    access_token_url=provider.token_url,
                    userinfo_endpoint=provider.userinfo_url,
                )
            self.oauth.register(provider.name, **kwargs)

    def client(self, name: str) -> tuple[OIDCProvider, StarletteOAuth2App]:
        config = self.configs.get(name)
        client = self.oauth.create_client(name) if config is not None else None
        if config is None or client is None:
            raise NotFound(f"no login provider named {name!r}")
        return config, client


def get_login_providers(request: Request) -> LoginProviders:
    providers: LoginProviders | None = getattr(request.app.state, "login_providers", None)
    if providers is None:
        providers = LoginProviders(request.app.state.settings)
        request.app.state.login_providers = providers
    return providers


router = APIRouter(include_in_schema=False)


@router.get("/login/{provider}")
async def login(
    provider: str, request: Request, settings: SettingsDep, next: str | None = None
) -> Response:
    """Start the authorization-code flow at `provider` (`next`: the page to end on)."""
    _config, client = get_login_providers(request).client(provider)
    request.session[PROVIDER_SESSION_KEY] = provider
    if next is not None:
        remember_next(request, next)
    redirect_uri = settings.base_url.rstrip("/") + CALLBACK_PATH
    try:
        response: Response = await client.authorize_redirect(request, redirect_uri)
    except Exception as exc:  # discovery unreachable, bad metadata: tell the user, not a 500
        log.warning("login provider %s unavailable: %s", provider, exc)
        raise ProviderUnavailable(f"the login provider {provider!r} is unavailable: {exc}") from exc
    return response


async def _claims(config: OIDCProvider, client: StarletteOAuth2App, request: Request) -> Any:
    token = await client.authorize_access_token(request)
    if config.kind == "oidc":
        if "userinfo" not in token:
            raise Unauthenticated("the identity provider returned no ID token")
        return token["userinfo"]
    resp = await client.get(config.userinfo_url or "", token=token)
    resp.raise_for_status()
    claims = dict(resp.json())
    claims.setdefault("sub", claims.get("id"))
    return claims


@router.get(CALLBACK_PATH)
async def callback(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    """Finish the flow: check the response, create or find the user, start the session."""
    name = request.session.get(PROVIDER_SESSION_KEY)
    if not isinstance(name, str):
        raise Unauthenticated("no login is in progress in this browser session")
    config, client = get_login_providers(request).client(name)
    try:
        claims = await _claims(config, client, request)
    except (OAuthError, JoseError, ValueError, RuntimeError, httpx.HTTPError) as exc:
        raise Unauthenticated(f"login failed: {exc}") from exc
    identity = logins.Identity.from_claims(config.issuer.rstrip("/"), claims)
    remote = request.client.host if request.client else None
    user = logins.login(session, settings, identity, remote_addr=remote)
    target = take_next(request)
    start_session(request, user)
    return RedirectResponse(target, status_code=303)


@router.post("/logout", dependencies=[Depends(require_csrf)])
def logout(request: Request, user: WebUser, session: SessionDep) -> Response:
    """End the browser session (a CSRF-checked POST, so other sites cannot log people out)."""
    if user is not None:
        audit.record(
            session,
            actor=user,
            action="logout",
            target=f"user:{user.name}",
            remote_addr=request.client.host if request.client else None,
        )
    end_session(request)
    return RedirectResponse("/", status_code=303)
