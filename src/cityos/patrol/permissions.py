"""Who may do what in the patrol module.

patrol.work       check in and out, patrol and post the track (the grid worker; only in their own
                  grids, see service.py)
patrol.supervise  read the patrols and attendance of the workers in one's region scope, and the
                  grids nobody covered (dispatchers, administrators and leaders; the region scope
                  is identity's: a street dispatcher sees the street, city-wide roles the city)
"""

from cityos.identity.permissions import grant

grant("grid_worker", "patrol.work")
for _role in ("dispatcher", "admin", "leader"):
    grant(_role, "patrol.supervise")
