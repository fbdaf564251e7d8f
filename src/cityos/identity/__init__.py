"""Identity: the region tree (division codes, five levels), departments, users and their roles
and scopes, login sessions, API tokens, and the one permission check every route uses.
Other modules import `cityos.identity.service`, `.queries`, `.permissions` and `.schemas` only."""
