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
