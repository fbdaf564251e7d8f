"""Who may do what in the sensing module (城市感知).

sensing.view    see devices, readings, rules and alarms in one's scope (policy.visible)
sensing.manage  register and import devices, issue device credentials, edit rules
sensing.alarms  acknowledge, clear and assign alarms (the operations centre)
sensing.ingest  post telemetry over HTTP and use the NGSI-LD API (an API token's `sensing` scope)
"""

from cityos.identity.permissions import grant, grant_scope

for _role in ("admin", "data_bureau", "dispatcher", "leader", "inspector", "handler"):
    grant(_role, "sensing.view")
for _role in ("admin", "data_bureau"):
    grant(_role, "sensing.manage")
for _role in ("admin", "dispatcher"):
    grant(_role, "sensing.alarms")
grant_scope("sensing", "sensing.view", "sensing.manage", "sensing.ingest")
