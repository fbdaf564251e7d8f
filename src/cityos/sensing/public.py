"""sensing's routes outside the authenticated prefix: the NGSI-LD API (bearer tokens, ngsi.py)."""

from cityos.sensing.ngsi import router

__all__ = ["router"]
