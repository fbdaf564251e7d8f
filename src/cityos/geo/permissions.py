"""Geo permissions: everyone on staff sees the map; admins import grids; everyone who can sign in
may place a pin (geo.pin: the outlines of districts, streets and communities and the grid a point
falls in, for the report form's map)."""

from cityos.identity.permissions import grant, grant_scope
from cityos.identity.schemas import ROLES

for role in ROLES:
    if role != "citizen":
        grant(role, "geo.view")
    grant(role, "geo.pin")
grant("admin", "geo.import")
grant_scope("geo", "geo.view")
