"""Geo permissions: everyone on staff sees the map; admins import grids."""

from cityos.identity.permissions import grant, grant_scope
from cityos.identity.schemas import ROLES

for role in ROLES:
    if role != "citizen":
        grant(role, "geo.view")
grant("admin", "geo.import")
grant_scope("geo", "geo.view")
