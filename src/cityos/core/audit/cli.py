"""Helpers of the `cityos audit` commands (the commands themselves are in cityos/cli.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import Session

from cityos.core.audit.tree import Head, heads
from cityos.core.audit.verify import VerifyResult
from cityos.core.errors import Invalid


def read_witness(path: Path) -> list[Head]:
    """Heads kept outside the database, one JSON object a line (as `cityos audit heads` writes)."""
    out = []
    for n, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            out.append(Head.from_json(line))
        except (ValueError, KeyError, TypeError) as e:
            raise Invalid(
                "{path} line {line} is not a tree head: {reason}",
                code="audit_bad_witness",
                field=f"line {n}",
                params={"path": str(path), "line": n, "reason": str(e)},
            ) from e
    return out


def heads_since(session: Session, since: str) -> Iterator[Head]:
    since_id, since_ms = 0, 0
    if since.isdigit():
        since_id = int(since)
    else:
        try:
            t = datetime.fromisoformat(since)
        except ValueError as e:
            raise Invalid(
                "--since must be a head number or an ISO date/time", code="bad_since", field="since"
            ) from e
        since_ms = int((t if t.tzinfo else t.replace(tzinfo=UTC)).timestamp() * 1000)
    while True:
        page = heads(session, since_id=since_id, since_ms=since_ms, limit=5000)
        if not page:
            return
        yield from page
        since_id = page[-1].id


def summary(res: VerifyResult) -> str:
    state = "intact" if res.ok else f"{len(res.findings)} finding(s)"
    return (
        f"audit log {state}: {res.checked} entries, tree size {res.tree_size}, "
        f"{res.signed_size} under signed heads, {res.heads_checked} heads checked, "
        f"{res.unsequenced} waiting to be sequenced, root {res.root}"
    )
