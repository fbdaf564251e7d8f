"""A small city built through the real services: 临沂市 with two districts, their streets and
communities, departments, and one user per role. Tests read like the product:

    city.as_role("dispatcher")      -> Principal
    city.login(client, "leader")    -> logs the test client in through the login form
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cityos.core.db import Database
from cityos.geo import service as geo
from cityos.identity import service as identity
from cityos.identity.schemas import ROLES, DepartmentIn, Principal, RegionIn, UserIn

PASSWORD = "cityos-test-pw"
REGIONS = [
    ("371300", "临沂市", "city", None),
    ("371302", "兰山区", "district", "371300"),
    ("371311", "罗庄区", "district", "371300"),
    ("371302001", "兰山街道", "street", "371302"),
    ("371302002", "银雀山街道", "street", "371302"),
    ("371311001", "罗庄街道", "street", "371311"),
    ("371302001001", "金雀山社区", "community", "371302001"),
    ("371302001002", "沂蒙路社区", "community", "371302001"),
    ("371302002001", "银雀山社区", "community", "371302002"),
    ("371311001001", "罗庄社区", "community", "371311001"),
]
# Unit grids (imported through geo with real polygons): code, name, lower-left lon/lat of a
# 0.003° square (about 270 m × 330 m). 01/02 of 金雀山社区 share an edge at lon 118.353.
GRIDS = [
    ("37130200100101", "金雀山社区第1网格", 118.350, 35.050),
    ("37130200100102", "金雀山社区第2网格", 118.353, 35.050),
    ("37130200100201", "沂蒙路社区第1网格", 118.350, 35.053),
    ("37130200200101", "银雀山社区第1网格", 118.356, 35.050),
    ("37131100100101", "罗庄社区第1网格", 118.280, 34.990),
]
GRID_SIZE = 0.003


def grid_feature(code: str, name: str, lon: float, lat: float, size: float = GRID_SIZE) -> dict:  # type: ignore[type-arg]
    ring = [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]
    return {
        "type": "Feature",
        "properties": {"code": code, "name": name},
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }


def grid_collection() -> dict:  # type: ignore[type-arg]
    return {"type": "FeatureCollection", "features": [grid_feature(*g) for g in GRIDS]}


DEPARTMENTS = [
    ("dsjj", "临沂市大数据局", "data_bureau", "371300"),
    ("cgj", "临沂市城市管理局", "bureau", "371300"),
    ("gaj", "临沂市公安局", "bureau", "371300"),
    ("ls-cgj", "兰山区城市管理局", "bureau", "371302"),
    ("swj", "国家税务总局临沂市税务局", "bureau", "371300"),
]
ROLE_SCOPE = {
    "admin": ("dsjj", "371300"),
    "data_bureau": ("dsjj", "371300"),
    "data_steward": ("swj", "371300"),
    "dispatcher": ("cgj", "371300"),
    "inspector": ("cgj", "371302"),
    "grid_worker": ("cgj", "37130200100101"),
    "handler": ("ls-cgj", "371302"),
    "leader": ("dsjj", "371300"),
    "citizen": (None, None),
}


@dataclass
class SmallCity:
    db: Database
    principals: dict[str, Principal] = field(default_factory=dict)
    departments: dict[str, int] = field(default_factory=dict)

    @classmethod
    def build(cls, db: Database) -> SmallCity:
        c = cls(db)
        system = identity.SYSTEM
        with db.transaction() as s:
            for code, name, level, parent in REGIONS:
                identity.add_region(
                    session=s,
                    actor=system,
                    region=RegionIn(code=code, name=name, level=level, parent_code=parent),
                )
            geo.import_grids(session=s, actor=system, feature_collection=grid_collection())
            for code, name, kind, region in DEPARTMENTS:
                d = identity.add_department(
                    session=s,
                    actor=system,
                    department=DepartmentIn(code=code, name=name, kind=kind, region_code=region),
                )
                c.departments[code] = d.id
            for role in ROLES:
                dept, region = ROLE_SCOPE[role]
                identity.add_user(
                    session=s,
                    actor=system,
                    user=UserIn(
                        username=f"{role}1",
                        display_name=f"测试{role}",
                        password=PASSWORD,
                        roles=[role],
                        department_code=dept,
                        region_code=region,
                    ),
                )
            for role in ROLES:
                c.principals[role] = identity.principal_for(session=s, username=f"{role}1")
        return c

    def as_role(self, role: str) -> Principal:
        return self.principals[role]

    def login(self, client, role: str) -> None:  # type: ignore[no-untyped-def]
        r = client.post(
            "/login", data={"username": f"{role}1", "password": PASSWORD, "next": "/"}, follow_redirects=False
        )
        assert r.status_code == 303, r.text

    def csrf(self, client) -> str:  # type: ignore[no-untyped-def]
        """The logged-in client's CSRF token, read from the page as a browser would."""
        import re

        html = client.get("/").text
        m = re.search(r'name="csrf_token" value="([^"]+)"', html)
        assert m, "no csrf token on the page"
        return m.group(1)
