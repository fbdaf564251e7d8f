"""Routes with their own authentication: Open311 GeoReport v2 (api_key on POST, public reads)."""

from cityos.cases.open311 import router

__all__ = ["router"]
