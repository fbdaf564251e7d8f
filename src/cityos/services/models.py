"""services: its tables (the module's own; others reach it through its service)."""
