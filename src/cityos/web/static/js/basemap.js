/* The map pages' tile base map (docs/geo.md). The server puts the configured tile source in
   <meta name="cityos-basemap"> (CITYOS_MAP_TILES: 天地图 with the operator's key, or the city's own
   XYZ/WMTS server); without it the maps draw the real administrative outlines only, offline.

   With tiles, ECharts' geo coordinate system gets a Web Mercator projection — shifted from WGS84
   into GCJ-02 first when the tiles are GCJ-02 (高德, 腾讯 and most Chinese commercial tiles), the
   published algorithm that cityos/geo/crs.py implements on the server — so every stored WGS84
   point, outline and click lands where the tiles draw it, and a click converts back to WGS84.
   The tiles are ECharts graphic images under the outlines, recomputed after each zoom and pan.

   CityOSBaseMap.projection() → the projection for a geo/map option, or null offline;
   CityOSBaseMap.attach(chart, finder) → draws and follows the tiles (no-op offline). */
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="cityos-basemap"]');
  var conf = null;
  try { conf = meta ? JSON.parse(meta.getAttribute("content")) : null; } catch (e) { conf = null; }

  var A = 6378245.0, EE = 0.00669342162296594323, PI = Math.PI;
  function outOfChina(lon, lat) { return !(lon >= 72.004 && lon <= 137.8347 && lat >= 0.8293 && lat <= 55.8271); }
  function dLat(x, y) {
    var r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
    r += (20.0 * Math.sin(6.0 * x * PI) + 20.0 * Math.sin(2.0 * x * PI)) * 2.0 / 3.0;
    r += (20.0 * Math.sin(y * PI) + 40.0 * Math.sin(y / 3.0 * PI)) * 2.0 / 3.0;
    r += (160.0 * Math.sin(y / 12.0 * PI) + 320.0 * Math.sin(y * PI / 30.0)) * 2.0 / 3.0;
    return r;
  }
  function dLon(x, y) {
    var r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
    r += (20.0 * Math.sin(6.0 * x * PI) + 20.0 * Math.sin(2.0 * x * PI)) * 2.0 / 3.0;
    r += (20.0 * Math.sin(x * PI) + 40.0 * Math.sin(x / 3.0 * PI)) * 2.0 / 3.0;
    r += (150.0 * Math.sin(x / 12.0 * PI) + 300.0 * Math.sin(x / 30.0 * PI)) * 2.0 / 3.0;
    return r;
  }
  function wgs84ToGcj02(lon, lat) {
    if (outOfChina(lon, lat)) return [lon, lat];
    var dlat = dLat(lon - 105.0, lat - 35.0), dlon = dLon(lon - 105.0, lat - 35.0);
    var radlat = lat / 180.0 * PI, magic = 1 - EE * Math.sin(radlat) * Math.sin(radlat), sq = Math.sqrt(magic);
    dlat = (dlat * 180.0) / ((A * (1 - EE)) / (magic * sq) * PI);
    dlon = (dlon * 180.0) / (A / sq * Math.cos(radlat) * PI);
    return [lon + dlon, lat + dlat];
  }
  function gcj02ToWgs84(lon, lat) {  // no closed form: iterate the forward transform
    if (outOfChina(lon, lat)) return [lon, lat];
    var w = [lon, lat];
    for (var i = 0; i < 30; i++) {
      var g = wgs84ToGcj02(w[0], w[1]), dx = g[0] - lon, dy = g[1] - lat;
      w = [w[0] - dx, w[1] - dy];
      if (Math.abs(dx) < 1e-10 && Math.abs(dy) < 1e-10) break;
    }
    return w;
  }

  var WORLD = 256;  // the world's width in pixels at zoom 0
  function mercator(lon, lat) {
    var s = Math.sin(Math.max(-85.05112878, Math.min(85.05112878, lat)) * PI / 180);
    return [(lon + 180) / 360 * WORLD, (0.5 - Math.log((1 + s) / (1 - s)) / (4 * PI)) * WORLD];
  }
  function unmercator(x, y) {
    var n = PI - 2 * PI * y / WORLD;
    return [x / WORLD * 360 - 180, 180 / PI * Math.atan(0.5 * (Math.exp(n) - Math.exp(-n)))];
  }

  var proj = null;
  if (conf) {
    var shift = conf.crs === "gcj02";
    proj = {
      project: function (p) { var q = shift ? wgs84ToGcj02(p[0], p[1]) : p; return mercator(q[0], q[1]); },
      unproject: function (p) { var q = unmercator(p[0], p[1]); return shift ? gcj02ToWgs84(q[0], q[1]) : q; }
    };
  }

  function tileUrl(template, z, x, y) {
    var subs = conf.subdomains || "";
    return template.replace("{z}", z).replace("{x}", x).replace("{y}", y)
      .replace("{s}", subs ? subs.charAt((x + y) % subs.length) : "");
  }

  /* World (Web Mercator pixels at zoom 0) ↔ screen pixels for the chart's current view. ECharts
     5.6's convertFromPixel with a projection unprojects before it undoes the view transform, so
     both directions are derived from convertToPixel of two points (the view scales x and y alike). */
  function frame(chart, finder) {
    var a = [118.0, 35.0], b = [119.0, 36.0];
    var pa = proj.project(a), pb = proj.project(b);
    var xa = chart.convertToPixel(finder, a), xb = chart.convertToPixel(finder, b);
    if (!xa || !xb) return null;
    var scale = (xb[0] - xa[0]) / (pb[0] - pa[0]);
    if (!(scale > 0) || !isFinite(scale)) return null;
    return { scale: scale, toWorld: function (px) { return [pa[0] + (px[0] - xa[0]) / scale, pa[1] + (px[1] - xa[1]) / scale]; } };
  }

  /* The WGS84 point under a screen pixel (what a click means), with or without tiles. */
  function fromPixel(chart, finder, px) {
    if (!proj) return chart.convertFromPixel(finder, px);
    var f;
    try { f = frame(chart, finder); } catch (e) { return null; }
    return f ? proj.unproject(f.toWorld(px)) : null;
  }

  function attach(chart, finder) {
    var el = chart.getDom();
    el.dataset.basemap = conf ? conf.kind : "none";
    if (!conf) return { redraw: function () {} };
    var last = "", queued = false;
    function draw() {
      queued = false;
      var w = chart.getWidth(), h = chart.getHeight();
      var f;
      try { f = frame(chart, finder); } catch (e) { return; }
      if (!f) return;
      var p0 = f.toWorld([0, 0]), p1 = f.toWorld([w, h]);
      var upp = 1 / f.scale;  // world pixels per screen pixel
      var key = [w, h, p0[0].toFixed(6), p0[1].toFixed(6), upp.toPrecision(8)].join(",");
      if (key === last) return;
      last = key;
      var z = Math.max(0, Math.min(conf.max_zoom, Math.round(Math.log(1 / upp) / Math.LN2)));
      var n = Math.pow(2, z), size = WORLD / n, px = size / upp;
      var x0 = Math.max(0, Math.floor(p0[0] / size)), x1 = Math.min(n - 1, Math.floor(p1[0] / size));
      var y0 = Math.max(0, Math.floor(p0[1] / size)), y1 = Math.min(n - 1, Math.floor(p1[1] / size));
      var els = [];
      if ((x1 - x0 + 1) * (y1 - y0 + 1) <= 200) {
        conf.urls.forEach(function (template, layer) {
          for (var x = x0; x <= x1; x++) {
            for (var y = y0; y <= y1; y++) {
              els.push({
                type: "image", id: "tile-" + layer + "-" + z + "-" + x + "-" + y, silent: true, z: -10 + layer,
                x: (x * size - p0[0]) / upp, y: (y * size - p0[1]) / upp,
                style: { image: tileUrl(template, z, x, y), width: px + 0.5, height: px + 0.5 }
              });
            }
          }
        });
      }
      if (conf.attribution) {
        els.push({ type: "text", id: "tile-attribution", silent: true, z: 100, right: 4, bottom: 2,
                   style: { text: conf.attribution, fill: "#333", font: "10px sans-serif",
                            backgroundColor: "rgba(255,255,255,0.7)", padding: [1, 3] } });
      }
      chart.setOption({ graphic: { elements: els } }, { replaceMerge: ["graphic"] });
      el.dataset.tileZoom = String(z);
    }
    function schedule() {
      if (queued) return;
      queued = true;
      (window.requestAnimationFrame || setTimeout)(draw);
    }
    chart.on("georoam", schedule);
    chart.on("finished", schedule);
    window.addEventListener("resize", function () { last = ""; schedule(); });
    return { redraw: function () { last = ""; schedule(); } };
  }

  window.CityOSBaseMap = {
    config: conf,
    projection: function () { return proj; },
    attach: attach,
    fromPixel: fromPixel,
    areaColor: function (offline) { return conf ? "rgba(31,95,191,0.10)" : offline; },
    wgs84ToGcj02: wgs84ToGcj02,
    gcj02ToWgs84: gcj02ToWgs84
  };
})();
