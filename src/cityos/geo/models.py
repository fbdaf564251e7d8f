"""Geo's private tables: the polygon of each unit grid (the grid itself is a region of level
"grid" in identity's region tree, keyed by its 14-digit code)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from cityos.core.db import Base, JSONType


class GridShape(Base):
    __tablename__ = "grids"
    code: Mapped[str] = mapped_column(ForeignKey("regions.code", ondelete="CASCADE"), primary_key=True)
    community_code: Mapped[str] = mapped_column(String(12), nullable=False, index=True)
    geometry: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False)  # GeoJSON, WGS84
    min_lon: Mapped[float] = mapped_column(Float, nullable=False)
    min_lat: Mapped[float] = mapped_column(Float, nullable=False)
    max_lon: Mapped[float] = mapped_column(Float, nullable=False)
    max_lat: Mapped[float] = mapped_column(Float, nullable=False)
    area_m2: Mapped[float] = mapped_column(Float, nullable=False)
    grid_worker_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
