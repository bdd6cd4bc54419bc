"""A small but real OpenID Connect provider for tests (authorization code + PKCE, RS256).

It speaks the protocol the way CILogon, Keycloak or Globus do, over real HTTP: a discovery
document, a JWKS, an authorization endpoint with a login form, a token endpoint that checks the
client secret (basic or post) and the PKCE verifier (S256 only), RS256-signed ID tokens (when
the `openid` scope was asked for) that carry the nonce, and a userinfo endpoint. Codes are
single-use and expire.

It is configured by a JSON file (see `ProviderConfig`); a user entry may ask for a broken ID
token (`"bad_signature": true` signs with a key that is not in the JWKS) so tests can prove the
gateway checks signatures.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from joserfc import jwt
from joserfc.jwk import RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

CODE_TTL = 60.0


@dataclass
class ProviderConfig:
    issuer: str
    clients: dict[str, dict[str, Any]]
    """client_id -> {"client_secret": ..., "redirect_uris": [...]}"""
    users: dict[str, dict[str, Any]]
    """login name -> claims (sub, email, name, ...) and optional "bad_signature"."""

    @classmethod
    def from_json(cls, text: str) -> ProviderConfig:
        data = json.loads(text)
        return cls(issuer=data["issuer"].rstrip("/"), clients=data["clients"], users=data["users"])


@dataclass
class _Grant:
    client_id: str
    redirect_uri: str
    user: str
    scope: str
    nonce: str | None
    challenge: str
    issued: float = field(default_factory=time.time)


def _error(status: int, error: str, description: str) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=status)


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def create_provider(config: ProviderConfig) -> Starlette:
    key = RSAKey.generate_key(2048, parameters={"kid": "test-key-1", "use": "sig", "alg": "RS256"})
    foreign = RSAKey.generate_key(2048, parameters={"kid": "test-key-1"})
    grants: dict[str, _Grant] = {}
    access: dict[str, str] = {}
    iss = config.issuer

    def discovery(_request: Request) -> JSONResponse:
        return JSONResponse(
            {
                "issuer": iss,
                "authorization_endpoint": f"{iss}/authorize",
                "token_endpoint": f"{iss}/token",
                "userinfo_endpoint": f"{iss}/userinfo",
                "jwks_uri": f"{iss}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "scopes_supported": ["openid", "email", "profile"],
                "token_endpoint_auth_methods_supported": [
                    "client_secret_basic",
                    "client_secret_post",
                ],
                "code_challenge_methods_supported": ["S256"],
                "claims_supported": ["sub", "email", "name", "iss", "aud", "nonce"],
            }
        )

    def jwks(_request: Request) -> JSONResponse:
        return JSONResponse({"keys": [key.as_dict(private=False)]})

    def _check_authorize(params: dict[str, str]) -> Response | None:
        client = config.clients.get(params.get("client_id", ""))
        if client is None:
            return _error(400, "invalid_client", "unknown client_id")
        if params.get("redirect_uri") not in client["redirect_uris"]:
            return _error(400, "invalid_request", "redirect_uri is not registered")
        if params.get("response_type") != "code":
            return _error(400, "unsupported_response_type", "only 'code' is supported")
        if params.get("code_challenge_method") != "S256" or not params.get("code_challenge"):
            return _error(400, "invalid_request", "PKCE with S256 is required")
        return None

    async def authorize(request: Request) -> Response:
        if request.method == "GET":
            params = dict(request.query_params)
            problem = _check_authorize(params)
            if problem is not None:
                return problem
            hidden = "".join(
                f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                for k, v in params.items()
            )
            return HTMLResponse(
                "<!doctype html><title>Test IdP login</title>"
                f'<form method="post" action="{iss}/authorize">{hidden}'
                '<input name="username"><button>Log in</button></form>'
            )
        form = {k: str(v) for k, v in (await request.form()).items()}
        problem = _check_authorize(form)
        if problem is not None:
            return problem
        username = form.get("username", "")
        if username not in config.users:
            return HTMLResponse("unknown user", status_code=401)
        code = secrets.token_urlsafe(24)
        grants[code] = _Grant(
            client_id=form["client_id"],
            redirect_uri=form["redirect_uri"],
            user=username,
            scope=form["scope"],
            nonce=form.get("nonce"),
            challenge=form["code_challenge"],
        )
        query = {"code": code, "iss": iss}
        if "state" in form:
            query["state"] = form["state"]
        sep = "&" if "?" in form["redirect_uri"] else "?"
        return RedirectResponse(f"{form['redirect_uri']}{sep}{urlencode(query)}", status_code=302)

    async def token(request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        client_id, secret = form.get("client_id"), form.get("client_secret")
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("basic "):
            raw = base64.b64decode(auth[6:]).decode()
            client_id, _, secret = raw.partition(":")
        client = config.clients.get(client_id or "")
        if client is None or not secrets.compare_digest(client["client_secret"], secret or ""):
            return _error(401, "invalid_client", "client authentication failed")
        if form.get("grant_type") != "authorization_code":
            return _error(400, "unsupported_grant_type", "only authorization_code")
        grant = grants.pop(form.get("code", ""), None)
        if grant is None or time.time() - grant.issued > CODE_TTL:
            return _error(400, "invalid_grant", "unknown, used or expired code")
        if grant.client_id != client_id or grant.redirect_uri != form.get("redirect_uri"):
            return _error(400, "invalid_grant", "code was issued to another client/redirect")
        if _s256(form.get("code_verifier", "")) != grant.challenge:
            return _error(400, "invalid_grant", "PKCE verification failed")
        user = config.users[grant.user]
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": iss,
            "aud": client_id,
            "iat": now,
            "exp": now + 300,
            "auth_time": now,
            **{k: v for k, v in user.items() if k != "bad_signature"},
        }
        if grant.nonce:
            claims["nonce"] = grant.nonce
        access_token = secrets.token_urlsafe(24)
        access[access_token] = grant.user
        answer = {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": grant.scope,
        }
        if "openid" in grant.scope.split():  # plain OAuth 2 clients get no ID token
            signer = foreign if user.get("bad_signature") else key
            answer["id_token"] = jwt.encode({"alg": "RS256", "kid": "test-key-1"}, claims, signer)
        return JSONResponse(answer, headers={"Cache-Control": "no-store"})

    def userinfo(request: Request) -> Response:
        auth = request.headers.get("authorization", "")
        user = access.get(auth[7:]) if auth.lower().startswith("bearer ") else None
        if user is None:
            return _error(401, "invalid_token", "unknown access token")
        claims = {k: v for k, v in config.users[user].items() if k != "bad_signature"}
        return JSONResponse(claims)

    return Starlette(
        routes=[
            Route("/.well-known/openid-configuration", discovery),
            Route("/jwks", jwks),
            Route("/authorize", authorize, methods=["GET", "POST"]),
            Route("/token", token, methods=["POST"]),
            Route("/userinfo", userinfo),
        ]
    )
