"""The demo city's geography: 临沂市 (371300) with its real districts and counties at their real
centres, synthetic streets, communities and unit grids that tile each community exactly.

One square lattice (cell = one unit grid) is laid over the city; the cells nearest the district
centres are kept (exactly 12,387 at city scale, Linyi's published count; about 300 at small scale,
the three central districts only), each cell belongs to the nearest centre, and inside a district
streets and communities are the cells nearest their seeds. Squares that share edges cannot overlap
or leave gaps. Deterministic for a seed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

import numpy as np

CITY = ("371300", "临沂市", 118.356, 35.104)
# (code, name, lon, lat, urban): approximate geographic centres of Linyi's 3 districts and 9 counties
DISTRICTS = [
    ("371302", "兰山区", 118.300, 35.150, True),
    ("371311", "罗庄区", 118.250, 34.960, True),
    ("371312", "河东区", 118.470, 35.120, True),
    ("371321", "沂南县", 118.465, 35.550, False),
    ("371322", "郯城县", 118.367, 34.613, False),
    ("371323", "沂水县", 118.628, 35.790, False),
    ("371324", "兰陵县", 118.071, 34.858, False),
    ("371325", "费县", 117.977, 35.266, False),
    ("371326", "平邑县", 117.640, 35.506, False),
    ("371327", "莒南县", 118.835, 35.175, False),
    ("371328", "蒙阴县", 117.945, 35.710, False),
    ("371329", "临沭县", 118.650, 34.920, False),
]
SCALES = {
    "small": {"grids": 300, "cell_m": 420.0, "districts": 3},
    "city": {"grids": 12_387, "cell_m": 1150.0, "districts": 12},
}
PLACE = [
    "金雀",
    "银雀",
    "兰山",
    "柳青",
    "枣园",
    "半程",
    "白沙",
    "李官",
    "方城",
    "汪沟",
    "朱保",
    "义堂",
    "枣沟",
    "芝麻",
    "九曲",
    "相公",
    "汤头",
    "太平",
    "梅埠",
    "凤凰",
    "沂河",
    "蒙山",
    "涑河",
    "祊河",
    "北园",
    "南坊",
    "东城",
    "西关",
    "新华",
    "解放",
    "通达",
    "沂州",
    "书院",
    "琅琊",
    "启阳",
    "临西",
    "银河",
    "工业",
    "盛庄",
    "傅庄",
    "册山",
    "褚墩",
    "黄山",
    "高都",
    "湖头",
    "岸堤",
    "孙祖",
    "双堠",
    "青驼",
    "界湖",
    "砖埠",
    "马牧",
    "许家",
    "苏村",
    "大庄",
    "辛集",
    "铜井",
    "依汶",
    "蒲汪",
    "葛沟",
    "杨家",
    "诸葛",
    "院东",
    "圣良",
    "泉庄",
    "沙沟",
    "富官",
    "黄山铺",
    "卞庄",
    "向城",
    "磨山",
    "长城",
    "新兴",
]
M_PER_DEG_LAT = 110_574.0


@dataclass
class RegionRow:
    code: str
    name: str
    level: str
    parent_code: str | None
    lon: float
    lat: float


@dataclass
class CityGeography:
    city_code: str
    city_name: str
    regions: list[RegionRow] = field(default_factory=list)  # city, districts, streets, communities
    grids: dict[str, Any] = field(default_factory=dict)  # GeoJSON FeatureCollection of unit grids

    @property
    def grid_count(self) -> int:
        return len(self.grids.get("features", []))


def _nearest(points: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    d = ((points[:, None, :] - seeds[None, :, :]) ** 2).sum(axis=2)
    return d.argmin(axis=1)


def _groups(cells: np.ndarray, n_groups: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Split cells into n compact groups: nearest of n seeds picked among the cells (4 k-means rounds)."""
    n_groups = max(1, min(n_groups, len(cells)))
    seeds = cells[rng.choice(len(cells), size=n_groups, replace=False)].astype(float)
    for _ in range(4):
        lab = _nearest(cells, seeds)
        for k in range(n_groups):
            members = cells[lab == k]
            if len(members):
                seeds[k] = members.mean(axis=0)
    lab = _nearest(cells, seeds)
    groups = [np.flatnonzero(lab == k) for k in range(n_groups)]
    groups = [g for g in groups if len(g)]
    # order groups north-west first so codes read like a map
    groups.sort(key=lambda g: (-cells[g, 1].mean(), cells[g, 0].mean()))
    return groups


def _split_max(
    idx: np.ndarray, cells: np.ndarray, max_size: int, rng: np.random.Generator
) -> list[np.ndarray]:
    if len(idx) <= max_size:
        return [idx]
    parts = _groups(cells[idx], int(np.ceil(len(idx) / max_size)) + 1, rng)
    out = []
    for p in parts:
        out.extend(_split_max(idx[p], cells, max_size, rng))
    return out


def generate(scale: str = "small", seed: int = 371300) -> CityGeography:
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {list(SCALES)}")
    conf = SCALES[scale]
    rng = np.random.default_rng(seed)
    pyrng = random.Random(seed)
    districts = DISTRICTS[: int(conf["districts"])]
    lat0 = CITY[3]
    kx = 111_320.0 * np.cos(np.radians(lat0))
    dx, dy = conf["cell_m"] / kx, conf["cell_m"] / M_PER_DEG_LAT
    centres = np.array([[d[2], d[3]] for d in districts])
    # lattice over the centres' extent with a margin; cells in lattice units (integers)
    margin = 0.45 if scale == "city" else 0.06
    x0, y0 = centres[:, 0].min() - margin, centres[:, 1].min() - margin
    nx = int((centres[:, 0].max() + margin - x0) / dx) + 1
    ny = int((centres[:, 1].max() + margin - y0) / dy) + 1
    gx, gy = np.meshgrid(np.arange(nx), np.arange(ny))
    cells = np.column_stack([gx.ravel(), gy.ravel()])
    centers = np.column_stack([x0 + (cells[:, 0] + 0.5) * dx, y0 + (cells[:, 1] + 0.5) * dy])
    # metric distance to the nearest centre, with a little noise so shapes are not perfect discs
    metric = np.column_stack([centers[:, 0] * kx, centers[:, 1] * M_PER_DEG_LAT])
    centre_m = np.column_stack([centres[:, 0] * kx, centres[:, 1] * M_PER_DEG_LAT])
    dist = np.sqrt(((metric[:, None, :] - centre_m[None, :, :]) ** 2).sum(axis=2))
    weight = np.array([0.55 if d[4] else 1.0 for d in districts])  # urban districts are denser
    score = (dist * weight[None, :]).min(axis=1) * (1 + 0.08 * rng.random(len(cells)))
    keep = np.argsort(score, kind="stable")[: conf["grids"]]
    cells, centers, metric = cells[keep], centers[keep], metric[keep]
    owner = _nearest(metric, centre_m)

    geo = CityGeography(CITY[0], CITY[1])
    geo.regions.append(RegionRow(CITY[0], CITY[1], "city", None, CITY[2], CITY[3]))
    features: list[dict[str, Any]] = []
    used_names: set[str] = set()

    def place_name() -> str:
        for _ in range(200):
            n = pyrng.choice(PLACE)
            if n not in used_names:
                used_names.add(n)
                return n
        return pyrng.choice(PLACE) + str(len(used_names))

    for di, (dcode, dname, dlon, dlat, urban) in enumerate(districts):
        geo.regions.append(RegionRow(dcode, dname, "district", CITY[0], dlon, dlat))
        didx = np.flatnonzero(owner == di)
        if len(didx) == 0:
            continue
        n_streets = max(2, min(40, round(len(didx) / (30 if scale == "small" else 80))))
        for si, sgroup in enumerate(_groups(cells[didx], n_streets, rng), start=1):
            sidx = didx[sgroup]
            scode = f"{dcode}{si:03d}"
            sname = place_name() + ("街道" if urban else "镇")
            sc = centers[sidx].mean(axis=0)
            geo.regions.append(RegionRow(scode, sname, "street", dcode, round(sc[0], 6), round(sc[1], 6)))
            comm_size = 10 if scale == "small" else 14
            n_comm = max(1, round(len(sidx) / comm_size))
            comms: list[np.ndarray] = []
            for g in _groups(cells[sidx], n_comm, rng):
                comms.extend(_split_max(sidx[g], cells, 99, rng))
            for ci, cidx in enumerate(comms, start=1):
                ccode = f"{scode}{ci:03d}"
                cname = place_name() + ("社区" if urban else "村")
                cc = centers[cidx].mean(axis=0)
                geo.regions.append(
                    RegionRow(ccode, cname, "community", scode, round(cc[0], 6), round(cc[1], 6))
                )
                order = np.lexsort((cells[cidx, 0], -cells[cidx, 1]))
                for gi, k in enumerate(cidx[order], start=1):
                    x, y = cells[k]
                    # edges from the integer lattice, so neighbours share exactly the same coordinates
                    lo, hi = round(x0 + x * dx, 7), round(x0 + (x + 1) * dx, 7)
                    la, ha = round(y0 + y * dy, 7), round(y0 + (y + 1) * dy, 7)
                    ring = [[lo, la], [hi, la], [hi, ha], [lo, ha], [lo, la]]
                    features.append(
                        {
                            "type": "Feature",
                            "properties": {"code": f"{ccode}{gi:02d}", "name": f"{cname}第{gi}网格"},
                            "geometry": {"type": "Polygon", "coordinates": [ring]},
                        }
                    )
    geo.grids = {"type": "FeatureCollection", "features": features}
    return geo
