"""Who may do what with notifications.

notify.read   read one's own message centre and mark messages read (every person who logs in;
              a message is only ever its recipient's, see service.py)
"""

from cityos.identity.permissions import grant
from cityos.identity.schemas import ROLES

for role in ROLES:
    grant(role, "notify.read")
