"""Who may do what with the catalog.

catalog.view     read the catalog (every member of staff; a `data` or `catalog` token)
catalog.manage   describe resources and load their data — the provider's data steward (its own
                 department's resources only) and the data bureau (all)
catalog.decide   answer access requests for the department's resources
catalog.request  ask another department for a conditional resource
catalog.data     read rows through the data API (the share rules then decide what)
catalog.admin    the bureau's overview, escalations and everyone's statistics
"""

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
    grant(role, "catalog.view")
for role in ("data_steward", "data_bureau", "admin"):
    grant(role, "catalog.manage", "catalog.decide", "catalog.request", "catalog.data")
for role in ("handler", "leader"):
    grant(role, "catalog.request", "catalog.data")
grant("data_bureau", "catalog.admin")
grant("admin", "catalog.admin")
grant("leader", "catalog.admin")
grant_scope("data", "catalog.view", "catalog.data")
grant_scope("catalog", "catalog.view", "catalog.manage", "catalog.data")
