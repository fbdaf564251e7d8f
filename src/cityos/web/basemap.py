"""The map pages' base map, from the environment (docs/geo.md, docs/operations.md).

CITYOS_MAP_TILES       none (default: offline, the maps draw the real administrative outlines only),
                       tianditu (天地图 with the operator's key) or xyz (the city's own tile server)
CITYOS_MAP_TIANDITU_KEY  the operator's 天地图 key (tk), for tianditu
CITYOS_MAP_TILE_URL    for xyz: one or more URL templates separated by "|" (drawn in that order, e.g.
                       a base layer and its labels), with {z} {x} {y} (XYZ) or {TileMatrix} {TileCol}
                       {TileRow} (WMTS KVP or REST) and an optional {s} for the subdomains
CITYOS_MAP_TILE_SUBDOMAINS  the letters or digits {s} takes in turn ("abc"; 天地图: "01234567")
CITYOS_MAP_TILE_CRS    the tiles' coordinate system: wgs84 (also CGCS2000, as 天地图) or gcj02 (高德,
                       腾讯 and most Chinese commercial tiles); stored points are always WGS84, the
                       page shifts what it draws into the tiles' system
CITYOS_MAP_TILE_MAX_ZOOM  deepest zoom level the server has (18)
CITYOS_MAP_TILE_ATTRIBUTION  the credit line shown on the map (天地图's own for tianditu)

Only Web Mercator tile pyramids are supported (XYZ, and WMTS with the GoogleMapsCompatible / EPSG:3857
tile matrix set, 天地图's `_w` layers); nothing is fetched from the internet unless configured.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from urllib.parse import urlsplit

from cityos.core.settings import get_settings

KINDS = ("none", "tianditu", "xyz")
TILE_CRS = ("wgs84", "gcj02")
TIANDITU = (
    "https://t{s}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
    "&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles"
    "&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk={key}"
)


@dataclass(frozen=True)
class BaseMap:
    kind: str
    urls: tuple[str, ...]
    subdomains: str
    crs: str
    max_zoom: int
    attribution: str

    def origins(self) -> list[str]:
        """The scheme://host[:port] of every tile URL (for the page's Content-Security-Policy)."""
        out: list[str] = []
        for u in self.urls:
            parts = urlsplit(u)
            hosts = (
                [parts.netloc.replace("{s}", s) for s in self.subdomains]
                if "{s}" in parts.netloc
                else [parts.netloc]
            )
            for h in hosts:
                o = f"{parts.scheme}://{h}"
                if o not in out:
                    out.append(o)
        return out

    def as_json(self) -> str:
        d = asdict(self)
        d["urls"] = list(self.urls)
        return json.dumps(d, ensure_ascii=False)


def _env(name: str, default: str = "") -> str:
    extra = get_settings().extra.get(name.lower().removeprefix("cityos_"))
    return (extra or os.environ.get(name, default)).strip()


def _normalise(template: str) -> str:
    """WMTS placeholders to XYZ ones: {TileMatrix} is z, {TileCol} x, {TileRow} y."""
    for wmts, xyz in (("{TileMatrix}", "{z}"), ("{TileCol}", "{x}"), ("{TileRow}", "{y}")):
        template = template.replace(wmts, xyz)
    return template


def config() -> BaseMap | None:
    """The configured base map, or None (offline: outlines only). Raises ValueError naming the
    setting at fault."""
    kind = (_env("CITYOS_MAP_TILES", "none") or "none").lower()
    if kind not in KINDS:
        raise ValueError(f"CITYOS_MAP_TILES must be one of {KINDS}, not {kind!r}")
    if kind == "none":
        return None
    try:
        max_zoom = int(_env("CITYOS_MAP_TILE_MAX_ZOOM", "18") or "18")
    except ValueError:
        raise ValueError("CITYOS_MAP_TILE_MAX_ZOOM must be a whole number") from None
    if kind == "tianditu":
        key = _env("CITYOS_MAP_TIANDITU_KEY")
        if not key:
            raise ValueError("CITYOS_MAP_TILES=tianditu needs CITYOS_MAP_TIANDITU_KEY (the operator's tk)")
        urls = tuple(TIANDITU.replace("{key}", key).replace("{layer}", layer) for layer in ("vec", "cva"))
        return BaseMap(
            kind="tianditu",
            urls=urls,
            subdomains="01234567",
            crs="wgs84",  # CGCS2000, within a metre of WGS84 at map scales
            max_zoom=min(max_zoom, 18),
            attribution=_env("CITYOS_MAP_TILE_ATTRIBUTION") or "天地图",
        )
    urls = tuple(_normalise(u.strip()) for u in _env("CITYOS_MAP_TILE_URL").split("|") if u.strip())
    if not urls:
        raise ValueError("CITYOS_MAP_TILES=xyz needs CITYOS_MAP_TILE_URL (a template with {z} {x} {y})")
    for u in urls:
        if not all(p in u for p in ("{z}", "{x}", "{y}")) or urlsplit(u).scheme not in ("http", "https"):
            raise ValueError(f"CITYOS_MAP_TILE_URL {u!r} is not an http(s) template with {{z}} {{x}} {{y}}")
    crs = (_env("CITYOS_MAP_TILE_CRS", "wgs84") or "wgs84").lower()
    if crs not in TILE_CRS:
        raise ValueError(f"CITYOS_MAP_TILE_CRS must be one of {TILE_CRS}, not {crs!r}")
    return BaseMap(
        kind="xyz",
        urls=urls,
        subdomains=_env("CITYOS_MAP_TILE_SUBDOMAINS", "abc") or "abc",
        crs=crs,
        max_zoom=max_zoom,
        attribution=_env("CITYOS_MAP_TILE_ATTRIBUTION"),
    )
