"""A CKAN-compatible read Action API at /api/3/action/ (and /api/action/, the path the `ckanapi`
client calls), so the tools that read CKAN portals read the city's open data unchanged.

    CKAN package       one catalog resource open without condition (open_type `open`)
    CKAN resource      one download of its current version: CSV, NDJSON, Parquet; ids are the
                       package name plus the format (`101001-000001-csv`), and each of them is
                       also a datastore resource id for datastore_search
    CKAN organization  a provider department with open resources
    CKAN group         a topic

Only `public` fields ever appear; conditionally open and closed resources are not found. The
fields datastore_search filters, searches and sorts on follow the catalog's one read rule
(`policy.require`: only fields the caller holds in clear, else 403). Every datastore_search is
recorded like a download (service.record_public_download, kind `api`).
Responses have CKAN's shape `{"help", "success", "result"}`; errors `{"help", "success": false,
"error": {"__type", "message"}}` with CKAN's statuses: 404 Not Found Error, 409 Validation Error,
403 Authorization Error, 400 Bad Request / Search Query Error. GET with query parameters and POST
with a JSON body (or a form) both work, as in CKAN.
"""

from cityos.catalog.ckan.common import FORMATS, download_url, downloadable, resource_id
from cityos.catalog.ckan.route import ACTIONS, router

__all__ = ["ACTIONS", "FORMATS", "download_url", "downloadable", "resource_id", "router"]
