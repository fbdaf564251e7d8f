"""Who may act on cases. The transition table (flows.py) says which role takes which step; these
permissions gate the routes and reads."""

from cityos.identity.permissions import grant, grant_scope

for role in ("dispatcher", "inspector", "grid_worker", "handler", "leader", "admin", "data_bureau"):
    grant(role, "cases.view")
for role in ("citizen", "dispatcher", "inspector", "grid_worker", "admin"):
    grant(role, "cases.report")
for role in ("dispatcher", "inspector", "grid_worker", "handler", "admin"):
    grant(role, "cases.act")
grant("admin", "cases.taxonomy")
for role in ("dispatcher", "admin"):  # the 12345 operators sit with the dispatchers in the centre
    grant(role, "cases.hotline")
grant_scope("open311", "cases.report", "cases.view")
grant_scope("cases", "cases.report", "cases.view")
