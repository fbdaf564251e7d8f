"""Who may do what in the services module (一网通办).

services.apply      apply online for oneself or one's company, rate, hold licenses (citizens)
services.window     the front window (综合受理): apply on an applicant's behalf, check completeness,
                    accept or return once with the list of what is missing, issue results, the queue
services.review     the department's back office: approve, reject or send back its own applications
services.supervise  the regulator's supervision tasks (审管联动) and rectification of 差评 (the data
                    bureau: every department's, and it rules on appeals with services.manage)
services.manage     the 事项清单, license kinds and issuing keys (Excel import/export)
services.stats      statistics: certificate-free measurement, 好差评 per department and item
services.licenses   other departments' lookup of an e-license (with a stated reason)
oidc.manage         register OpenID Connect clients
"""

from cityos.identity.permissions import grant, grant_scope

grant("citizen", "services.apply")
for _role in ("handler", "admin"):
    grant(_role, "services.window", "services.review", "services.supervise", "services.licenses")
grant("inspector", "services.supervise", "services.licenses")
for _role in ("admin", "data_bureau"):
    grant(_role, "services.manage", "services.stats", "services.supervise")
grant("leader", "services.stats")
grant("admin", "oidc.manage")
grant_scope("licenses", "services.licenses")
