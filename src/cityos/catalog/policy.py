"""The catalog's read-side rule: which fields a caller may filter, sort, search, look up or page on.

The share rules (`service.access`, `service.open_access`, `portal.download_access`) decide what a
caller reads of a resource: the fields, and which of them in clear. A field the caller reads
masked must not be usable as a condition either: a filter `id_number=prefix.3713021990` that
answers "rows" or "no rows" is an oracle that recovers a masked ID digit by digit, and so are a
sort, a lookup by key, a free-text search, a row count and a paging position chosen by the caller.

So there is one rule, here, used by the data API (rows, lookup, export, count and its
`X-Row-Count`), the CKAN `datastore_search` (filters, q, sort, fields) and the portal:

    a caller may use a field as a condition only if it holds that field in clear.

Everything else is refused: 403 `field_masked` for a field the caller reads masked, 403
`field_not_granted` for one it does not read at all. Paging positions are never chosen by the
caller: the reader issues them sealed (see `reader.encode_cursor`).
"""

from __future__ import annotations

from collections.abc import Iterable

from cityos.catalog.schemas import Access
from cityos.core.errors import Forbidden


def queryable(access: Access) -> frozenset[str]:
    """The fields `access` lets its holder filter, sort, search, look up or page on: the ones it
    reads in clear. The only place that decides it."""
    return frozenset(access.fields).intersection(access.clear)


def require(access: Access, names: Iterable[str]) -> None:
    """Refuse (403) the first of `names` the caller may not use as a condition."""
    allowed = queryable(access)
    for name in names:
        if name in allowed:
            continue
        if name in access.fields:
            raise Forbidden(
                "You see {field} masked: it cannot be used to filter, sort, search, look up or page",
                code="field_masked",
                field=name,
                params={"field": name},
            )
        raise Forbidden(
            "{field} is not among the fields you read: "
            "it cannot be used to filter, sort, search, look up or page",
            code="field_not_granted",
            field=name,
            params={"field": name},
        )
