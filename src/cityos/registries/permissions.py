"""Who may do what with the base registries and the cross-checks.

registries.view      browse registry records (each field then shown as the share rules of its source
                     resource let the viewer see it), statistics
registries.build     build a registry version (the data bureau; reads go through its own grants)
registries.answer    answer the discrepancies sent to one's own department (its data stewards)
registries.tasks     work the 核查任务 of one's own department (stewards and case handlers)
registries.checks    define, dry-run and run the checks one's department owns
registries.admin     everything in every department: disputes, every inbox, every check
registries.object    raise an objection (数据异议) on data about oneself (citizens)
"""

from cityos.identity.permissions import grant, grant_scope

for _role in ("admin", "data_bureau", "data_steward", "handler", "leader"):
    grant(_role, "registries.view")
for _role in ("admin", "data_bureau"):
    grant(_role, "registries.build", "registries.admin")
for _role in ("admin", "data_bureau", "data_steward"):
    grant(_role, "registries.answer", "registries.tasks", "registries.checks")
grant("handler", "registries.tasks")
grant("leader", "registries.admin")
grant("citizen", "registries.object")
grant_scope("registries", "registries.view", "registries.build", "registries.admin", "registries.checks")
