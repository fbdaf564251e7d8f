"""DTOs that leave the geo module."""

from __future__ import annotations

from pydantic import BaseModel

from cityos.identity.schemas import RegionOut


class Location(BaseModel):
    """Where a point falls: its unit grid and the whole region chain (city → grid)."""

    lon: float  # WGS84
    lat: float
    grid_code: str
    grid_name: str
    grid_worker_id: int | None
    chain: list[RegionOut]

    def code_at(self, level: str) -> str | None:
        return next((r.code for r in self.chain if r.level == level), None)


class GridHit(BaseModel):
    grid_code: str
    distance_m: float


class ImportProblem(BaseModel):
    index: int | None  # feature index in the FeatureCollection
    code: str | None
    problem: str  # machine code
    message: str  # English; translated by the caller's locale
    severity: str = "error"  # error | warning


class ImportReport(BaseModel):
    features: int
    imported: int
    errors: list[ImportProblem]
    warnings: list[ImportProblem]

    @property
    def ok(self) -> bool:
        return not self.errors


class PinPlace(BaseModel):
    """Where a citizen's pin lands (the report form's map): the point (WGS84, moved onto the nearest
    grid when it was dropped just outside the city's grids), the grid and the places above it by
    name. Nothing else: no grid worker, no counts."""

    lon: float
    lat: float
    snapped: bool  # True when the pin was moved onto the nearest grid
    grid_code: str
    grid_name: str
    address: str  # 兰山区 兰山街道 金雀山社区 第1网格
    chain: list[dict[str, str]]  # [{code, name, level}] district → grid
