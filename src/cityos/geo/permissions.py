"""Geo permissions: everyone on staff sees the map; admins import grids."""

from cityos.identity.permissions import grant, grant_scope

for role in (
    "admin",
    "data_bureau",
    "data_steward",
    "dispatcher",
    "inspector",
    "grid_worker",
    "handler",
    "leader",
):
    grant(role, "geo.view")
grant("admin", "geo.import")
grant_scope("geo", "geo.view")
