"""数据共享交换 use cases: describe resources, load and validate their data into immutable versions,
decide who may read what (share type, access requests, grants), and keep the record of every use.

Other modules call these functions (never the tables). Functions are keyword-only, take the
caller's session and never commit. The data itself is read by `cityos.catalog.reader` over the
versions' Parquet files; this module decides whether a read may happen and records it.

The work is split by concern; this module is the one public face of all four:
  resources.py  catalog entries, their fields (Table Schema) and freshness
  intake.py     files into versions: ONE entry point, `load`; accept, discard, reports, purge
  access.py     the share rules (`access`, `read_plan`, `open_access`), requests and grants
  usage.py      the record of every call and download, the data bureau's overview
  snapshot.py   governed bulk reads for other modules and per-value views, under the same rules
  lookup.py     one row by its key for another module's use case, with its stated purpose
"""

from __future__ import annotations

from cityos.catalog import permissions as _permissions  # noqa: F401  (grants catalog.* to roles)
from cityos.catalog.access import (
    REQUEST_DAYS_DEFAULT,
    ReadPlan,
    _req_out,
    access,
    decide_request,
    escalate_overdue_requests,
    may_manage,
    open_access,
    read_plan,
    request_access,
    request_days,
    requests,
    revoke_grant,
)
from cityos.catalog.intake import (
    LoadPlan,
    accept_version,
    discard_version,
    get_version,
    load,
    purge_orphan_files,
    purge_rejected_files,
    quarantine_path,
    version_path,
    version_schema,
    versions,
)
from cityos.catalog.lookup import lookup_row
from cityos.catalog.resources import (
    create_resource,
    facets,
    get_resource,
    is_stale,
    list_resources,
    remind_stale,
    schema_of,
    set_schema,
    stale_resources,
    update_resource,
)
from cityos.catalog.snapshot import Snapshot, shown_values, snapshot
from cityos.catalog.usage import (
    CallRecord,
    overview,
    record_call,
    record_calls,
    record_public_download,
    usage,
)
from cityos.catalog.work import request_notice, work_counts

__all__ = [
    "REQUEST_DAYS_DEFAULT",
    "CallRecord",
    "LoadPlan",
    "ReadPlan",
    "Snapshot",
    "_req_out",
    "accept_version",
    "access",
    "create_resource",
    "decide_request",
    "discard_version",
    "escalate_overdue_requests",
    "facets",
    "get_resource",
    "get_version",
    "is_stale",
    "list_resources",
    "load",
    "lookup_row",
    "may_manage",
    "open_access",
    "overview",
    "purge_orphan_files",
    "purge_rejected_files",
    "quarantine_path",
    "read_plan",
    "record_call",
    "record_calls",
    "record_public_download",
    "remind_stale",
    "request_access",
    "request_days",
    "request_notice",
    "requests",
    "revoke_grant",
    "schema_of",
    "set_schema",
    "shown_values",
    "snapshot",
    "stale_resources",
    "update_resource",
    "usage",
    "version_path",
    "version_schema",
    "versions",
    "work_counts",
]
