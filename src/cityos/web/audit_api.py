"""JSON routes of the audit log: the latest signed tree head, an inclusion proof for one entry and
a consistency proof between two signed tree sizes (RFC 9162 §2.1.3, §2.1.4).

`audit.proof` lets a caller ask; an entry's contents (who did what) come back only to holders of
`audit.read` or to the actor the entry names, so a department can prove its own calls were
logged without reading anyone else's."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from cityos.core.audit import proofs
from cityos.core.audit.tree import latest_head
from cityos.core.errors import Forbidden, NotFound
from cityos.identity import permissions
from cityos.identity.schemas import Principal
from cityos.web.deps import Require, get_session

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])
BIGINT = 2**63 - 1  # past this the databases cannot compare the number: 422, not a 500

for _role in ("admin", "data_bureau", "leader"):
    permissions.grant(_role, "audit.proof")
permissions.grant_scope("audit", "audit.proof")


@router.get("/tree-head")
def tree_head(
    session: Session = Depends(get_session, scope="function"), _p: Principal = Depends(Require("audit.proof"))
) -> dict[str, Any]:
    head = latest_head(session)
    if head is None:
        raise NotFound("No signed tree head yet", code="audit_no_head")
    return head.__dict__


@router.get("/proofs/inclusion")
def inclusion_proof(
    seq: int = Query(..., ge=1, le=BIGINT, description="The entry's number"),
    tree_size: int | None = Query(
        None, ge=1, le=BIGINT, description="A signed tree size (default: the first that covers it)"
    ),
    session: Session = Depends(get_session, scope="function"),
    p: Principal = Depends(Require("audit.proof")),
) -> dict[str, Any]:
    out = proofs.inclusion(session, seq=seq, tree_size=tree_size)
    if not permissions.has(p, "audit.read") and out["actor"] != p.actor:
        raise Forbidden("This audit entry names another actor", code="audit_not_yours")
    return out


@router.get("/proofs/consistency")
def consistency_proof(
    first: int = Query(..., ge=1, le=BIGINT),
    second: int = Query(..., ge=1, le=BIGINT),
    session: Session = Depends(get_session, scope="function"),
    _p: Principal = Depends(Require("audit.proof")),
) -> dict[str, Any]:
    return proofs.consistency(session, first=first, second=second)
