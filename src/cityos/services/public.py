"""Routes without the authenticated prefix: the public service guide (/guide), the hall's
ticket kiosk (/services/hall), license
verification (GET /verify?c=PAYLOAD, POST /api/v1/licenses/verify), the trust list
(/api/v1/licenses/trust-list), the public 好差评 summary, and the OpenID Connect provider
(/.well-known/openid-configuration, /oidc/authorize, /oidc/token, /oidc/userinfo, /oidc/jwks)."""

from __future__ import annotations

import base64
import os
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from cityos.identity.schemas import Principal
from cityos.services import oidc, service
from cityos.services.schemas import VerifyIn, VerifyOut
from cityos.web.deps import current_principal, get_database, get_session
from cityos.web.templating import render

router = APIRouter()
S = Depends(get_session, scope="function")


NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
AUTH_PARAMS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
)


# ---------------------------------------------------------------- guide and verification
@router.get("/guide", include_in_schema=False)
def guide(request: Request, q: str | None = Query(None, max_length=100), session: Session = S) -> Response:
    return render(
        request,
        "services/guide.html",
        {
            "items": service.items(session=session, query=q),
            "q": q or "",
            "summary": service.public_summary(session=session),
        },
    )


@router.get("/guide/{code}", include_in_schema=False)
def guide_item(code: str, request: Request, session: Session = S) -> Response:
    return render(request, "services/guide_item.html", {"item": service.get_item(session=session, code=code)})


@router.get("/verify", include_in_schema=False)
def verify_page(request: Request, c: str = Query("", max_length=4096), session: Session = S) -> Response:
    """The page an e-license's QR code points to."""
    result = service.verify(session=session, payload=c) if c else None
    return render(request, "services/verify.html", {"result": result, "c": c})


@router.get("/services/hall", include_in_schema=False)
def hall(
    request: Request,
    t: int | None = Query(None, ge=1, le=2**63 - 1),
    session: Session = S,
) -> Response:
    """The service hall's kiosk and screen (取号): take a ticket for a window type, see one's number
    and how many wait ahead, and the day's figures per type. No login."""
    ticket = service.ticket(session=session, ticket_id=t) if t else None
    queue = service.figures(session=session)
    return render(request, "services/hall.html", {"queue": queue, "ticket": ticket})


@router.post("/services/hall/{window_type}", include_in_schema=False)
def take_ticket(window_type: str, session: Session = S) -> Response:
    t = service.take(session=session, window_type=window_type)
    return RedirectResponse(f"/services/hall?t={t.id}", status_code=303)


@router.post("/api/v1/licenses/verify", response_model=VerifyOut, tags=["licenses"])
def verify(body: VerifyIn, request: Request) -> VerifyOut:
    """valid / revoked / expired / bad_signature / unknown_issuer / malformed, with the license's
    public fields (the holder's code masked). A lean route: its own read-only unit of work inside
    the one worker-thread call (a session dependency costs two more thread hand-offs per request,
    and a POST's writer session would take SQLite's write lock for a read)."""
    with get_database(request).transaction(read_only=True, queue=False) as session:
        return service.verify(session=session, payload=body.payload)


@router.get("/api/v1/licenses/trust-list", tags=["licenses"])
def trust_list(session: Session = S) -> dict[str, Any]:
    """Issuers' public keys (JWK, OKP/Ed25519) with kid and validity, and revoked identifiers."""
    return service.trust_list(session=session)


# ---------------------------------------------------------------- OpenID Connect
def issuer(request: Request) -> str:
    return os.environ.get("CITYOS_OIDC_ISSUER") or str(request.base_url).rstrip("/")


@router.get("/.well-known/openid-configuration", tags=["oidc"])
def discovery(request: Request) -> dict[str, Any]:
    return oidc.discovery(issuer(request))


@router.get("/oidc/jwks", tags=["oidc"])
def jwks() -> dict[str, Any]:
    return oidc.jwks()


def _back(uri: str, params: dict[str, str], **extra: str) -> RedirectResponse:
    out = dict(extra)
    if params.get("state"):
        out["state"] = params["state"]
    sep = "&" if "?" in uri else "?"
    return RedirectResponse(uri + sep + urlencode(out), status_code=303)


def _authorize(
    request: Request, session: Session, p: Principal, params: dict[str, str], decision: str | None
) -> Response:
    try:
        client, uri = oidc.check_request(session, params)
    except oidc.OAuthError as e:  # the client and its redirect URI are known: tell the client
        return _back(params["redirect_uri"], params, error=e.error, error_description=e.description)
    if not p.is_authenticated or p.kind != "user" or not p.id:
        nxt = "/oidc/authorize?" + urlencode(params)
        return RedirectResponse("/login?" + urlencode({"next": nxt}), status_code=303)
    scope = oidc.scope_of(params)
    if decision == "deny":
        return _back(uri, params, error="access_denied")
    if decision == "allow":
        oidc.give_consent(session, p, client.client_id, scope)
    elif not oidc.has_consent(session, p.id, client.client_id, scope):
        return render(
            request, "services/consent.html", {"client": client, "params": params, "scopes": scope.split()}
        )
    return _back(uri, params, code=oidc.issue_code(session, p, params))


@router.get("/oidc/authorize", include_in_schema=False)
def authorize_get(
    request: Request, session: Session = S, p: Principal = Depends(current_principal)
) -> Response:
    params = {k: v for k, v in request.query_params.items() if k in AUTH_PARAMS}
    return _authorize(request, session, p, params, None)


@router.post("/oidc/authorize", include_in_schema=False)
async def authorize_post(
    request: Request, session: Session = S, p: Principal = Depends(current_principal)
) -> Response:
    form = await request.form()
    params = {k: str(form[k]) for k in AUTH_PARAMS if k in form}
    return _authorize(request, session, p, params, str(form.get("decision", "")))


def _oauth_error(e: oidc.OAuthError) -> JSONResponse:
    body = {"error": e.error}
    if e.description:
        body["error_description"] = e.description
    headers = dict(NO_STORE)
    if e.status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="cityos"' if e.error == "invalid_client" else "Bearer"
    return JSONResponse(body, status_code=e.status, headers=headers)


def _client_credentials(request: Request, form: dict[str, str]) -> tuple[str, str]:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("basic "):
        try:
            from urllib.parse import unquote

            cid, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
            return unquote(cid), unquote(secret)
        except ValueError:
            raise oidc.OAuthError("invalid_client", "bad Basic credentials", 401) from None
    return form.get("client_id", ""), form.get("client_secret", "")


@router.post("/oidc/token", tags=["oidc"])
async def token(request: Request, session: Session = S) -> Response:
    """RFC 6749 4.1.3 with PKCE; errors as RFC 6749 5.2 (`{"error": "invalid_client"}` …)."""
    form = {k: str(v) for k, v in (await request.form()).items()}
    try:
        cid, secret = _client_credentials(request, form)
        if not cid:
            raise oidc.OAuthError("invalid_client", "client authentication is required", 401)
        client = oidc.authenticate_client(session, cid, secret)
        out = oidc.exchange(session, issuer=issuer(request), client=client, form=form)
    except oidc.OAuthError as e:  # answered, not raised: a reused code's revocation is committed
        return _oauth_error(e)
    return JSONResponse(out, headers=NO_STORE)


@router.api_route("/oidc/userinfo", methods=["GET", "POST"], tags=["oidc"], include_in_schema=False)
def userinfo(request: Request, session: Session = S) -> Response:
    auth = request.headers.get("authorization", "")
    try:
        return JSONResponse(
            oidc.userinfo(session, auth[7:].strip() if auth.lower().startswith("bearer ") else ""),
            headers=NO_STORE,
        )
    except oidc.OAuthError as e:
        return _oauth_error(e)
