"""The web shell: app factory, base layout, login, language switch, errors, health and metrics.
Modules contribute routers and navigation through cityos.registry."""
