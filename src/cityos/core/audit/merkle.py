"""The Merkle tree of RFC 9162 (Certificate Transparency 2.0), §2.1, over raw 32-byte hashes.

Pure functions: nothing here touches the database. `Frontier` is the compact range [0, size): the
roots of the perfect subtrees along the right edge, which is all that appending and computing the
root need. `inclusion_path` and `consistency_proof` follow the PATH and SUBPROOF definitions of
§2.1.3.1 and §2.1.4.1 over any `mth(start, end)` that returns MTH(D[start:end]).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def split_point(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def frontier_nodes(size: int) -> list[tuple[int, int]]:
    """(level, index) of the perfect subtrees that make up [0, size), left to right."""
    out = []
    start = 0
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            out.append((level, start >> level))
            start += 1 << level
    return out


class Frontier:
    """Roots of the perfect subtrees of [0, size), left (largest) to right."""

    def __init__(self, size: int = 0, hashes: list[bytes] | None = None) -> None:
        self.size = size
        self.stack: list[bytes] = list(hashes or [])
        if len(self.stack) != size.bit_count():
            raise ValueError("a frontier needs one hash per set bit of its size")

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Add one leaf hash; return the internal nodes (level, index, hash) it completed."""
        done: list[tuple[int, int, bytes]] = []
        h = leaf
        level = 0
        n = self.size
        while n >> level & 1:
            h = node_hash(self.stack.pop(), h)
            level += 1
            done.append((level, n >> level, h))
        self.stack.append(h)
        self.size += 1
        return done

    def root(self) -> bytes:
        if not self.stack:
            return EMPTY_ROOT
        h = self.stack[-1]
        for left in reversed(self.stack[:-1]):
            h = node_hash(left, h)
        return h


def inclusion_path(m: int, start: int, end: int, mth: Callable[[int, int], bytes]) -> list[bytes]:
    """PATH(m, D[start:end]) of RFC 9162 §2.1.3.1, m relative to start."""
    n = end - start
    if n <= 1:
        return []
    k = split_point(n)
    if m < k:
        return [*inclusion_path(m, start, start + k, mth), mth(start + k, end)]
    return [*inclusion_path(m - k, start + k, end, mth), mth(start, start + k)]


def consistency_proof(m: int, n: int, mth: Callable[[int, int], bytes]) -> list[bytes]:
    """PROOF(m, D[0:n]) of RFC 9162 §2.1.4.1 (0 < m <= n)."""
    return _subproof(m, 0, n, True, mth)


def _subproof(m: int, start: int, end: int, whole: bool, mth: Callable[[int, int], bytes]) -> list[bytes]:
    n = end - start
    if m == n:
        return [] if whole else [mth(start, end)]
    k = split_point(n)
    if m <= k:
        return [*_subproof(m, start, start + k, whole, mth), mth(start + k, end)]
    return [*_subproof(m - k, start + k, end, False, mth), mth(start, start + k)]
