"""CityOS as an OpenID Connect provider (OpenID Connect Core 1.0, RFC 6749, RFC 7636): client
registration by admins, the authorization code flow with PKCE (S256 only) and `nonce`, consent
once per client, ID tokens signed RS256 (the algorithm every OpenID Connect client supports) by a
key published in the JWKS, pairwise pseudonymous `sub` per client, and `acr` naming real-name
assurance for people whose resident ID checks out.

JOSE is joserfc's. The signing key is a PEM file under CITYOS_HOME/keys/oidc-<kid>.pem, made on
first use. Codes live 60 s and are single use; access tokens an hour; both are kept only as the
SHA-256 of their value.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from joserfc import jwt
from joserfc.jwk import RSAKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from cityos.core import audit, clock
from cityos.core.errors import Invalid, NotFound
from cityos.core.settings import get_settings
from cityos.identity import service as identity
from cityos.identity.permissions import authorize
from cityos.identity.schemas import Principal
from cityos.services.models import OidcClient, OidcConsent, OidcGrant, RealName
from cityos.services.schemas import ClientOut, NewClient

SCOPES = ("openid", "profile", "phone")
CODE_TTL = timedelta(seconds=60)
TOKEN_TTL = timedelta(hours=1)
ID_TOKEN_TTL = timedelta(minutes=10)
ACR_REAL_NAME = "urn:cityos:acr:real-name"
ACR_PASSWORD = "urn:cityos:acr:password"


class OAuthError(Exception):
    """An RFC 6749 error: `error` code, description and HTTP status (the token endpoint's JSON)."""

    def __init__(self, error: str, description: str = "", status: int = 400) -> None:
        super().__init__(error)
        self.error, self.description, self.status = error, description, status


def _sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


# ---------------------------------------------------------------- keys
@lru_cache(maxsize=4)
def _signing_key(home: str) -> RSAKey:
    d = Path(home) / "keys"
    d.mkdir(parents=True, exist_ok=True)
    found = sorted(d.glob("oidc-*.pem"))
    if found:
        path = found[-1]
        return RSAKey.import_key(
            path.read_bytes(), parameters={"kid": path.stem[5:], "use": "sig", "alg": "RS256"}
        )
    kid = clock.now().strftime("%Y%m%d") + "-" + secrets.token_hex(4)
    key = RSAKey.generate_key(2048, private=True, parameters={"kid": kid, "use": "sig", "alg": "RS256"})
    fd = os.open(d / f"oidc-{kid}.pem", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key.as_pem(private=True))
    return key


def signing_key() -> RSAKey:
    return _signing_key(str(get_settings().home))


def jwks() -> dict[str, Any]:
    k = signing_key()
    return {"keys": [k.as_dict(private=False) | {"kid": k.kid, "use": "sig", "alg": "RS256"}]}


def discovery(issuer: str) -> dict[str, Any]:
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/oidc/authorize",
        "token_endpoint": f"{issuer}/oidc/token",
        "userinfo_endpoint": f"{issuer}/oidc/userinfo",
        "jwks_uri": f"{issuer}/oidc/jwks",
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": list(SCOPES),
        "claims_supported": [
            "sub",
            "iss",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "nonce",
            "acr",
            "amr",
            "name",
            "phone_number",
        ],
        "acr_values_supported": [ACR_REAL_NAME, ACR_PASSWORD],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "response_modes_supported": ["query"],
        "claims_parameter_supported": False,
        "request_parameter_supported": False,
    }


# ---------------------------------------------------------------- clients
def add_client(*, session: Session, actor: Principal, name: str, redirect_uris: list[str]) -> NewClient:
    authorize(actor, "oidc.manage")
    if not name.strip():
        raise Invalid("Name the client", field="name", code="name_required")
    if not redirect_uris:
        raise Invalid("Give at least one redirect URI", field="redirect_uri", code="redirect_required")
    for uri in redirect_uris:
        u = urlsplit(uri)
        local = u.hostname in ("localhost", "127.0.0.1", "::1")
        if (
            u.scheme not in ("https", "http")
            or (u.scheme == "http" and not local)
            or not u.netloc
            or u.fragment
        ):
            raise Invalid(
                "A redirect URI is an absolute https URL without fragment (http only for localhost)",
                field="redirect_uri",
                code="bad_redirect_uri",
            )
    client_id = "c_" + secrets.token_urlsafe(12)
    secret = secrets.token_urlsafe(32)
    session.add(
        OidcClient(
            client_id=client_id,
            secret_hash=_sha(secret),
            name=name.strip(),
            redirect_uris=redirect_uris,
            created_by=actor.actor,
            created_at=clock.now(),
            active=True,
        )
    )
    audit.record(
        session,
        actor=actor.actor,
        action="oidc.client.add",
        subject_type="oidc_client",
        subject_id=client_id,
        payload={"name": name, "redirect_uris": redirect_uris},
    )
    return NewClient(client_id=client_id, client_secret=secret)


def clients(*, session: Session, actor: Principal) -> list[ClientOut]:
    authorize(actor, "oidc.manage")
    return [
        ClientOut(
            client_id=c.client_id,
            name=c.name,
            redirect_uris=list(c.redirect_uris),
            created_at=c.created_at,
            active=c.active,
        )
        for c in session.scalars(select(OidcClient).order_by(OidcClient.id))
    ]


def get_client(session: Session, client_id: str) -> OidcClient | None:
    c = session.scalar(select(OidcClient).where(OidcClient.client_id == client_id))
    return c if c is not None and c.active else None


# ---------------------------------------------------------------- authorization
def check_request(session: Session, params: dict[str, str]) -> tuple[OidcClient, str]:
    """Validate an authorization request. Raises NotFound (shown to the person, never redirected)
    for an unknown client or redirect URI; OAuthError (redirected back) for the rest."""
    c = get_client(session, params.get("client_id", ""))
    uri = params.get("redirect_uri", "")
    if c is None or uri not in (c.redirect_uris or []):
        raise NotFound("Unknown client or redirect URI", code="oidc_bad_client")
    if params.get("response_type") != "code":
        raise OAuthError("unsupported_response_type", "only response_type=code")
    if "openid" not in params.get("scope", "").split():
        raise OAuthError("invalid_scope", "the scope must include openid")
    if params.get("code_challenge_method") != "S256" or not params.get("code_challenge"):
        raise OAuthError("invalid_request", "PKCE with code_challenge_method=S256 is required")
    if not 43 <= len(params["code_challenge"]) <= 128:
        raise OAuthError("invalid_request", "bad code_challenge")
    return c, uri


def scope_of(params: dict[str, str]) -> str:
    return " ".join(s for s in SCOPES if s in params.get("scope", "").split())


def has_consent(session: Session, user_id: int, client_id: str, scope: str) -> bool:
    row = session.scalar(
        select(OidcConsent).where(OidcConsent.user_id == user_id, OidcConsent.client_id == client_id)
    )
    return row is not None and set(scope.split()) <= set(row.scope.split())


def give_consent(session: Session, actor: Principal, client_id: str, scope: str) -> None:
    assert actor.id is not None
    row = session.scalar(
        select(OidcConsent).where(OidcConsent.user_id == actor.id, OidcConsent.client_id == client_id)
    )
    if row is None:
        session.add(OidcConsent(user_id=actor.id, client_id=client_id, scope=scope, at=clock.now()))
    else:
        row.scope = " ".join(sorted(set(row.scope.split()) | set(scope.split())))
    audit.record(
        session,
        actor=actor.actor,
        action="oidc.consent",
        subject_type="oidc_client",
        subject_id=client_id,
        payload={"scope": scope},
    )


def issue_code(session: Session, actor: Principal, params: dict[str, str]) -> str:
    assert actor.id is not None
    code = secrets.token_urlsafe(32)
    now = clock.now()
    session.add(
        OidcGrant(
            digest=_sha(code),
            kind="code",
            client_id=params["client_id"],
            user_id=actor.id,
            redirect_uri=params["redirect_uri"],
            scope=scope_of(params),
            nonce=params.get("nonce", "")[:200],
            code_challenge=params["code_challenge"],
            auth_time=now,
            expires_at=now + CODE_TTL,
            used=False,
        )
    )
    return code


# ---------------------------------------------------------------- token
def authenticate_client(session: Session, client_id: str, secret: str) -> OidcClient:
    c = get_client(session, client_id)
    if c is None or not hmac.compare_digest(c.secret_hash, _sha(secret)):
        raise OAuthError("invalid_client", "client authentication failed", 401)
    return c


def pairwise_sub(client_id: str, user_id: int) -> str:
    """The person's id for this client only (OpenID Connect Core 8.1): HMAC of the client and the
    account under the installation's secret, so two clients cannot join their users."""
    mac = hmac.new(get_settings().secret_key(), f"{client_id}:{user_id}".encode(), hashlib.sha256)
    return base64.b32encode(mac.digest()[:20]).decode().lower()


def acr_of(session: Session, user_id: int) -> str:
    rn = session.get(RealName, user_id)
    return ACR_REAL_NAME if rn is not None and rn.verified_at is not None else ACR_PASSWORD


def exchange(session: Session, *, issuer: str, client: OidcClient, form: dict[str, str]) -> dict[str, Any]:
    """The token endpoint's authorization_code grant."""
    if form.get("grant_type") != "authorization_code":
        raise OAuthError("unsupported_grant_type")
    code, verifier = form.get("code", ""), form.get("code_verifier", "")
    if not code:
        raise OAuthError("invalid_request", "code is required")
    g = session.get(OidcGrant, _sha(code))
    now = clock.now()
    if g is None or g.kind != "code" or g.client_id != client.client_id or g.expires_at < now:
        raise OAuthError("invalid_grant", "unknown or expired code")
    if g.used:
        # a code used twice: revoke what it gave (RFC 6749 4.1.2)
        for t in session.scalars(
            select(OidcGrant).where(
                OidcGrant.kind == "token",
                OidcGrant.client_id == g.client_id,
                OidcGrant.user_id == g.user_id,
                OidcGrant.auth_time == g.auth_time,
            )
        ):
            t.expires_at = now
        raise OAuthError("invalid_grant", "code already used")
    if form.get("redirect_uri", "") != g.redirect_uri:
        raise OAuthError("invalid_grant", "redirect_uri does not match")
    if not verifier or not 43 <= len(verifier) <= 128:
        raise OAuthError("invalid_grant", "code_verifier is required")
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    if not hmac.compare_digest(challenge, g.code_challenge):
        raise OAuthError("invalid_grant", "code_verifier does not match")
    g.used = True
    token = secrets.token_urlsafe(32)
    session.add(
        OidcGrant(
            digest=_sha(token),
            kind="token",
            client_id=g.client_id,
            user_id=g.user_id,
            redirect_uri="",
            scope=g.scope,
            nonce="",
            code_challenge="",
            auth_time=g.auth_time,
            expires_at=now + TOKEN_TTL,
            used=False,
        )
    )
    user = identity.get_user(session=session, id=g.user_id)
    claims: dict[str, Any] = {
        "iss": issuer,
        "sub": pairwise_sub(g.client_id, g.user_id),
        "aud": g.client_id,
        "iat": int(now.timestamp()),
        "exp": int((now + ID_TOKEN_TTL).timestamp()),
        "auth_time": int(g.auth_time.timestamp()),
        "acr": acr_of(session, g.user_id),
        "amr": ["pwd"],
        "at_hash": _at_hash(token),
    }
    if g.nonce:
        claims["nonce"] = g.nonce
    if "profile" in g.scope.split():
        claims["name"] = user.display_name
    key = signing_key()
    id_token = jwt.encode({"alg": "RS256", "kid": key.kid, "typ": "JWT"}, claims, key)
    audit.record(
        session,
        actor=f"oidc:{g.client_id}",
        action="oidc.token",
        subject_type="user",
        subject_id=g.user_id,
        payload={"client": g.client_id, "scope": g.scope},
    )
    return {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": int(TOKEN_TTL.total_seconds()),
        "id_token": id_token,
        "scope": g.scope,
    }


def _at_hash(token: str) -> str:
    d = hashlib.sha256(token.encode()).digest()
    return base64.urlsafe_b64encode(d[:16]).rstrip(b"=").decode()


def userinfo(session: Session, token: str) -> dict[str, Any]:
    g = session.get(OidcGrant, _sha(token)) if token else None
    if g is None or g.kind != "token" or g.expires_at < clock.now():
        raise OAuthError("invalid_token", "unknown or expired access token", 401)
    user = identity.get_user(session=session, id=g.user_id)
    out: dict[str, Any] = {"sub": pairwise_sub(g.client_id, g.user_id), "acr": acr_of(session, g.user_id)}
    if "profile" in g.scope.split():
        out["name"] = user.display_name
    if "phone" in g.scope.split() and user.phone:
        out["phone_number"] = user.phone
    return out
