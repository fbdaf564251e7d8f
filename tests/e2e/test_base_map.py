"""The map pages' base map in a real browser: with no tiles configured (the default) the grid map
draws the real outlines and asks for no tile; with the city's own XYZ server configured (GCJ-02
tiles), the page requests tiles from the configured URL template, for the tiles that cover the
city, and shifts WGS84 into GCJ-02 exactly as cityos.geo.crs does. A tiny tile server runs in the
test on 127.0.0.1."""

from __future__ import annotations

import dataclasses
import io
import math
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest
import shapely
from PIL import Image
from shapely.geometry import shape

from tests.e2e.conftest import login, screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def _tile_png() -> bytes:
    img = Image.new("RGB", (256, 256), (236, 230, 214))
    for i in range(0, 256, 32):  # a faint lattice, so a screenshot shows the tiles
        for j in range(256):
            img.putpixel((i, j), (200, 190, 170))
            img.putpixel((j, i), (200, 190, 170))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


class _Tiles(BaseHTTPRequestHandler):
    seen: ClassVar[list[str]] = []
    png = b""

    def do_GET(self) -> None:
        type(self).seen.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(self.png)))
        self.end_headers()
        self.wfile.write(self.png)

    def log_message(self, *args: object) -> None:
        pass


def _world(lon: float, lat: float, z: int) -> tuple[float, float]:
    """Web Mercator tile coordinates (fractional) at zoom z."""
    n = 2**z
    s = math.sin(math.radians(lat))
    return (lon + 180) / 360 * n, (0.5 - math.log((1 + s) / (1 - s)) / (4 * math.pi)) * n


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    x, y = _world(lon, lat, z)
    return int(x), int(y)


def _zxy(path: str) -> tuple[int, int, int]:
    z, x, y = path.removeprefix("/tiles/").removesuffix(".png").split("/")
    return int(z), int(x), int(y)


def _drawn_districts(page) -> list[dict]:  # type: ignore[no-untyped-def]
    return page.evaluate(
        """() => {
            const chart = echarts.getInstanceByDom(document.getElementById('gridmap'));
            return echarts.getMap(chart.getOption().series[0].map).geoJSON.features;
        }"""
    )


def test_outlines_offline_and_tiles_from_the_configured_server(browser, live_city):  # type: ignore[no-untyped-def]
    import uvicorn

    from cityos.core.settings import get_settings, use_settings
    from cityos.demo.geometry import districts
    from cityos.geo.crs import wgs84_to_gcj02
    from cityos.web.app import create_app

    # 1. offline (the default): the real outlines, no tile asked for
    ctx = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 860})
    page = ctx.new_page()
    page.set_default_timeout(20_000)
    login(page, live_city, "admin")
    page.goto(f"{live_city.url}/geo/map")
    page.locator("#gridmap[data-level='district'][data-basemap='none']").wait_for()
    drawn = {f["properties"]["code"]: shape(f["geometry"]) for f in _drawn_districts(page)}
    real = {code: g for code, _n, g in districts() if code in drawn}
    assert sorted(drawn) == ["371302", "371311", "371312"]
    for code, g in real.items():  # the drawn district is the real outline (simplified by 0.0002°)
        assert shapely.symmetric_difference(drawn[code], g).area / g.area < 0.01, code
    graphic = page.evaluate(
        "() => echarts.getInstanceByDom(document.getElementById('gridmap')).getOption().graphic || []"
    )
    assert all(not g.get("elements") for g in graphic)  # no tile drawn
    screenshot(page, "base-map-offline")
    ctx.close()

    # 2. the city's own tile server, GCJ-02 tiles
    _Tiles.png, _Tiles.seen = _tile_png(), []
    tile_server = ThreadingHTTPServer(("127.0.0.1", 0), _Tiles)
    threading.Thread(target=tile_server.serve_forever, daemon=True).start()
    template = f"http://127.0.0.1:{tile_server.server_port}/tiles/{{z}}/{{x}}/{{y}}.png"
    before = get_settings()
    tiled = dataclasses.replace(
        before, extra={**before.extra, "map_tiles": "xyz", "map_tile_url": template, "map_tile_crs": "gcj02"}
    )
    app = create_app(settings=tiled, db=live_city.db)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(200):
            if server.started:
                break
            threading.Event().wait(0.05)
        port = server.servers[0].sockets[0].getsockname()[1]
        url = f"http://127.0.0.1:{port}"
        ctx = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 860})
        page = ctx.new_page()
        page.set_default_timeout(20_000)
        login(page, dataclasses.replace(live_city, url=url), "admin")
        page.goto(f"{url}/geo/map")
        page.locator("#gridmap[data-level='district'][data-basemap='xyz'][data-tile-zoom]").wait_for()
        page.wait_for_load_state("networkidle")
        z = int(page.get_attribute("#gridmap", "data-tile-zoom"))
        asked = {_zxy(p) for p in _Tiles.seen}
        assert asked and all(t[0] == z for t in asked), asked
        # the tile under 兰山区's point, in GCJ-02, is among those asked for
        lon, lat = next(
            f["properties"]["point"] for f in _drawn_districts(page) if f["properties"]["code"] == "371302"
        )
        gx, gy = wgs84_to_gcj02(lon, lat)
        assert (z, *_tile_of(gx, gy, z)) in asked
        # a WGS84 point is drawn where the GCJ-02 tiles have it: inside its tile, at its offset
        tile = page.evaluate(
            """([id, lon, lat]) => {
                const chart = echarts.getInstanceByDom(document.getElementById('gridmap'));
                const el = chart.getOption().graphic[0].elements.find(e => e.id === id);
                return {x: el.x, y: el.y, size: el.style.width - 0.5,
                        px: chart.convertToPixel({seriesIndex: 0}, [lon, lat])};
            }""",
            [f"tile-0-{z}-{_tile_of(gx, gy, z)[0]}-{_tile_of(gx, gy, z)[1]}", lon, lat],
        )
        fx, fy = _world(gx, gy, z)
        assert abs(tile["x"] + (fx % 1) * tile["size"] - tile["px"][0]) < 1.0
        assert abs(tile["y"] + (fy % 1) * tile["size"] - tile["px"][1]) < 1.0
        # the page's GCJ-02 shift is the server's (cityos.geo.crs), to well under a metre
        for plon, plat in ((118.3505, 35.0567), (117.64, 35.506), (118.835, 34.62)):
            js = page.evaluate("([x, y]) => CityOSBaseMap.wgs84ToGcj02(x, y)", [plon, plat])
            py = wgs84_to_gcj02(plon, plat)
            assert abs(js[0] - py[0]) < 1e-9 and abs(js[1] - py[1]) < 1e-9
            back = page.evaluate("([x, y]) => CityOSBaseMap.gcj02ToWgs84(x, y)", list(py))
            assert abs(back[0] - plon) < 1e-8 and abs(back[1] - plat) < 1e-8
        # the page's CSP lets the configured tile server (and only it) serve images
        csp = page.evaluate("fetch('/geo/map').then(r => r.headers.get('content-security-policy'))")
        assert f"http://127.0.0.1:{tile_server.server_port}" in csp
        # zooming in asks for deeper tiles
        n = len(_Tiles.seen)
        box = page.locator("#gridmap").bounding_box()
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        for _ in range(40):  # wheel until the view is twice as large (polled: the CSP forbids eval)
            page.mouse.wheel(0, -400)
            page.wait_for_timeout(150)
            if int(page.get_attribute("#gridmap", "data-tile-zoom") or 0) > z:
                break
        assert int(page.get_attribute("#gridmap", "data-tile-zoom") or 0) > z
        page.wait_for_load_state("networkidle")
        assert len(_Tiles.seen) > n
        screenshot(page, "base-map-tiles")
        ctx.close()
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        tile_server.shutdown()
        tile_server.server_close()
        use_settings(before)
