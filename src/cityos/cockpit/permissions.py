"""Who may do what in the cockpit.

cockpit.view   the big screens, the metric list and values, the monthly report (leaders, the data
               bureau, admins, dispatchers; an API token's `metrics` scope: external screens such
               as DataV or Grafana read the same stored numbers)
cockpit.admin  edit the metric definitions and recompute now (admins, the data bureau)

The cockpit reads its sources as its own account (`sources.cockpit_principal`): a system principal
of the cockpit's department (CITYOS_COCKPIT_DEPARTMENT, default dsjj 大数据局) holding the
`cockpit_source` scope — read-only: catalog data under the share rules, case figures citywide —
and, for devices and alarms, the same account without a department holding `cockpit_operations`
(`sources.operations_principal`: sensing.view, city-wide as a leader sees them).
"""

from cityos.identity.permissions import grant, grant_scope

for _role in ("leader", "admin", "data_bureau", "dispatcher"):
    grant(_role, "cockpit.view")
for _role in ("admin", "data_bureau"):
    grant(_role, "cockpit.admin")
grant_scope("metrics", "cockpit.view")
grant_scope("cockpit_source", "catalog.view", "catalog.data", "cases.read", "cases.view", "cases.view_region")
grant_scope("cockpit_operations", "sensing.view")
