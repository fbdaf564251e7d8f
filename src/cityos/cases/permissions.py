"""Who may do what with cases: the one place where roles are mapped to the cases module's
permissions. Views, services, the transition table (flows.py) and the visibility rule (policy.py)
ask for these permissions and never name a role.

- cases.read             ask for cases through the API and the case page (which ones: policy.visible)
- cases.view             the staff pages: lists, the map, evaluation
- cases.view_region      see the cases in one's region scope (policy.visible)
- cases.view_department  see the cases dispatched to one's department (policy.visible)
- cases.report           report a problem (pages and /api/v1/cases)
- cases.act              take steps of the loop at all; which steps, the permissions below say
- cases.dispatch         file, reject, dispatch, extend, suspend, resume, reopen, merge (the centre)
- cases.handle           accept, return, report back (the department's handler)
- cases.verify           verify on site or order rework (inspectors and grid workers)
- cases.send_task        send a grid worker a task about a case: verify a report, re-check handling
- cases.answer_task      answer the tasks sent to oneself (the grid worker on the phone)
- cases.hotline          the 12345 console, and recording a caller's rating
- cases.search_phone     find cases by the caller's phone (personal data: the 12345 centre only)
- cases.taxonomy         the taxonomy, dispatch rules and channel settings
- cases.open311          the Open311 endpoints' POST (an API token's `open311` scope: nothing else)
- cases.channel.<name>   the intake channel a person's reports come in by when they name none
"""

from cityos.identity.permissions import grant, grant_scope

STAFF_IN_REGION = ("dispatcher", "inspector", "grid_worker", "leader", "admin", "data_bureau")

for role in (*STAFF_IN_REGION, "handler"):
    grant(role, "cases.read", "cases.view")
for role in STAFF_IN_REGION:
    grant(role, "cases.view_region")
grant("handler", "cases.view_department")
grant("citizen", "cases.read")  # their own reports, through the API as on the pages
for role in ("citizen", "dispatcher", "inspector", "grid_worker", "admin"):
    grant(role, "cases.report")
for role in ("dispatcher", "inspector", "grid_worker", "handler", "admin"):
    grant(role, "cases.act")
for role in ("dispatcher", "admin"):  # the 12345 operators sit with the dispatchers in the centre
    grant(role, "cases.dispatch", "cases.hotline", "cases.channel.hotline", "cases.search_phone")
grant("handler", "cases.handle")
for role in ("inspector", "grid_worker"):
    grant(role, "cases.verify")
for role in ("dispatcher", "inspector", "admin"):
    grant(role, "cases.send_task")
grant("grid_worker", "cases.answer_task")
grant("inspector", "cases.channel.inspector")
grant("grid_worker", "cases.channel.grid_worker")
grant("admin", "cases.taxonomy")

# An `open311` token posts requests through Open311 and reads nothing the public cannot; the staff
# API (/api/v1/cases), attachments and original photos refuse it.
grant_scope("open311", "cases.open311")
grant_scope("cases", "cases.report", "cases.read", "cases.view", "cases.view_region", "cases.view_department")

# The channel a report comes in by when the form names none, most specific first.
DEFAULT_CHANNELS = ("grid_worker", "inspector", "hotline")
