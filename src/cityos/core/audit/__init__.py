"""The audit trail: a signed, append-only Merkle log (RFC 9162) written off the request path.

`record()` inserts an entry in the caller's transaction and takes no lock; the sequencer
(sequencer.py) later gives it its leaf index and leaf hash and signs tree heads; `verify()`
recomputes everything and names what was tampered with; proofs.py serves inclusion and
consistency proofs. Entries written before the Merkle log kept a hash chain: they are the log's
first leaves, and their chain is still verified.
"""

from __future__ import annotations

from cityos.core.audit.entries import GENESIS, canonical, chain_hash, digest, entry_bytes, history, record
from cityos.core.audit.models import AuditRecord, AuditTreeHead, AuditTreeNode
from cityos.core.audit.sequencer import LogTampered, SequencerThread, pending, sequence
from cityos.core.audit.verify import Finding, VerifyResult, verify

__all__ = [
    "GENESIS",
    "AuditRecord",
    "AuditTreeHead",
    "AuditTreeNode",
    "Finding",
    "LogTampered",
    "SequencerThread",
    "VerifyResult",
    "canonical",
    "chain_hash",
    "digest",
    "entry_bytes",
    "history",
    "pending",
    "record",
    "sequence",
    "verify",
]
