/* Cases over the grid map, drawn like gridmap.js: ECharts with the grids' GeoJSON from
   /api/v1/geo/grids.geojson over the configured tile base map (basemap.js; the outlines alone
   offline), district → street → community → grid, a click on a
   region drills down and the breadcrumb goes back up.
   #casemap (data-mode="cases"): the dispatcher's open cases from data-points (/api/v1/cases/map),
     one point per case coloured by its traffic light; a click on a point opens the case.
   #pickmap (data-mode="pick"): the hotline console; a click sets the caller's point (#pick-lon,
     #pick-lat), shows the grid it falls in, zooms into the clicked region, and asks htmx to
     refresh the open cases nearby (event "located" on <body>). */
(function () {
  "use strict";
  var NEXT = { city: "district", district: "street", street: "community", community: "grid", grid: null };
  var COLORS = { green: "#2e9d57", yellow: "#e0a400", red: "#d64541", none: "#9aa3ad" };

  /* ECharts puts a formatter's string into the page as HTML: names from the data are escaped. */
  function esc(v) {
    return String(v === undefined || v === null ? "" : v).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  function regionTip(name, code, labels) {
    return "<b>" + esc(name || code) + "</b><br>" + esc(labels.labelCode) + ": " + esc(code);
  }

  function caseTip(x, labels, stateNames, lightNames) {
    return "<b>" + esc(x.number) + "</b> " + esc(x.category_name) + "<br>" + esc(labels.labelState) + ": " +
      esc(stateNames[x.state] || x.state) + (lightNames[x.light] ? " · " + esc(lightNames[x.light]) : "") +
      "<br>" + esc(labels.labelReported) + ": " + esc(x.reported);
  }

  function create(el, opts) {
    var chart = echarts.init(el);
    var tiles = window.CityOSBaseMap ? CityOSBaseMap.attach(chart, { geoIndex: 0 }) : { redraw: function () {} };
    var projection = window.CityOSBaseMap ? CityOSBaseMap.projection() : null;
    var outlines = opts.outlines || "/api/v1/geo/grids.geojson";
    var d = el.dataset;
    var stack = [{ level: d.level || "district", under: d.city || "", name: d.cityName || "" }];
    var crumbs = document.getElementById(el.id + "-crumbs");
    var names = {};
    var mapName = null;
    var points = [];

    function drawCrumbs() {
      if (!crumbs) return;
      crumbs.innerHTML = "";
      stack.forEach(function (s, i) {
        if (i > 0) { var sep = document.createElement("span"); sep.className = "sep"; sep.textContent = "›"; crumbs.appendChild(sep); }
        var a = document.createElement("a");
        a.href = "#"; a.textContent = s.name || s.under; a.dataset.depth = String(i);
        a.addEventListener("click", function (ev) { ev.preventDefault(); stack = stack.slice(0, i + 1); load(); });
        crumbs.appendChild(a);
      });
    }

    function series() {
      return [{
        id: "points", type: "scatter", coordinateSystem: "geo", geoIndex: 0, data: points,
        symbol: opts.symbol || "circle", symbolSize: opts.symbolSize || 10, zlevel: 1,
        itemStyle: { borderColor: "#fff", borderWidth: 1 }, emphasis: { scale: 1.6 }
      }];
    }

    function draw() {
      if (!mapName) return;
      var top = stack[stack.length - 1];
      chart.setOption({
        tooltip: { trigger: "item", formatter: function (p) {
          if (p.componentType === "geo") return regionTip(names[p.name], p.name, d);
          return opts.tooltip ? opts.tooltip(p.data) : "";
        } },
        geo: {
          map: mapName, roam: true, nameProperty: "code", selectedMode: false, projection: projection || undefined,
          tooltip: { show: true },
          label: { show: top.level !== "grid" || Object.keys(names).length < 60, fontSize: 10, color: "#4a5b73",
                   formatter: function (p) { return names[p.name] || p.name; } },
          itemStyle: { areaColor: projection ? "rgba(31,95,191,0.08)" : "#eef2f8", borderColor: "#7f9cc9",
                       borderWidth: top.level === "grid" ? 0.5 : 1 },
          emphasis: { itemStyle: { areaColor: projection ? "rgba(31,95,191,0.25)" : "#dbe7fb" }, label: { show: true } }
        },
        series: series()
      }, true);
      tiles.redraw();
    }

    function load() {
      var top = stack[stack.length - 1];
      drawCrumbs();
      chart.showLoading();
      fetch(outlines + "?level=" + top.level + "&under=" + encodeURIComponent(top.under), { credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (fc) {
          mapName = "cityos-cases-" + top.level + "-" + top.under;
          echarts.registerMap(mapName, fc);
          names = {};
          fc.features.forEach(function (f) { names[f.properties.code] = f.properties.name; });
          chart.hideLoading();
          draw();
          el.dataset.level = top.level;
          el.dataset.regions = String(fc.features.length);
          el.dataset.ready = "1";
        });
    }

    function drill(code) {
      var top = stack[stack.length - 1];
      var next = NEXT[top.level];
      if (opts.deepest && top.level === opts.deepest) return;
      if (!next || !names[code]) return;
      stack.push({ level: next, under: code, name: names[code] });
      load();
    }

    chart.on("click", function (p) {
      if (p.componentType === "geo") drill(p.name);
      else if (p.seriesType === "scatter" && opts.onPoint) opts.onPoint(p.data);
    });
    if (opts.onPick) {
      chart.getZr().on("click", function (e) {
        var px = [e.offsetX, e.offsetY];
        if (!mapName || !chart.containPixel({ geoIndex: 0 }, px)) return;
        var c = window.CityOSBaseMap ? CityOSBaseMap.fromPixel(chart, { geoIndex: 0 }, px) : chart.convertFromPixel({ geoIndex: 0 }, px);
        if (c) opts.onPick(c[0], c[1]);
      });
    }
    window.addEventListener("resize", function () { chart.resize(); });
    load();
    return {
      chart: chart,
      setPoints: function (data) { points = data; if (mapName) chart.setOption({ series: series() }); }
    };
  }

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (m, k) { return k in values ? String(values[k]) : m; });
  }

  /* The dispatcher's map of open cases. */
  function casesMap(el) {
    var d = el.dataset;
    var stateNames = JSON.parse(d.stateNames || "{}");
    var lightNames = JSON.parse(d.lightNames || "{}");
    var m = create(el, {
      tooltip: function (x) { return caseTip(x, d, stateNames, lightNames); },
      onPoint: function (x) { window.location.href = "/cases/" + x.id; }
    });
    fetch(d.points, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (res) {
        var data = res.points.map(function (p) {
          return { value: [p.lon, p.lat], id: p.id, number: p.number, state: p.state, light: p.light,
                   category_name: p.category_name, reported: p.reported_at.slice(0, 16).replace("T", " "),
                   itemStyle: { color: COLORS[p.light] || COLORS.none } };
        });
        m.setPoints(data);
        var summary = document.getElementById("casemap-summary");
        if (summary) {
          summary.textContent = fill(summary.dataset.template, { shown: data.length, total: res.total, unplaced: res.without_location }) +
            (res.truncated ? " " + summary.dataset.truncated : "");
        }
        document.querySelectorAll("[data-light]").forEach(function (b) { b.textContent = String(res.counts[b.dataset.light] || 0); });
        el.dataset.shown = String(data.length);
        el.dataset.caseIds = data.map(function (x) { return x.id; }).join(",");
      });
  }

  /* The hotline console's point picker. */
  function pickMap(el) {
    var lon = document.getElementById("pick-lon");
    var lat = document.getElementById("pick-lat");
    var out = document.getElementById("pick-grid");
    var m;

    function located(x, y) {
      m.setPoints([{ value: [x, y], itemStyle: { color: COLORS.red } }]);
      out.textContent = "…";
      out.dataset.grid = "";
      fetch("/api/v1/geo/locate?lon=" + x + "&lat=" + y, { credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (loc) {
          if (!loc) { out.textContent = out.dataset.none; out.dataset.grid = ""; }
          else {
            var chain = loc.chain.filter(function (r) { return r.level !== "city" && r.level !== "grid"; })
              .map(function (r) { return r.name; });
            out.textContent = chain.concat([loc.grid_name + " (" + loc.grid_code + ")"]).join(" › ");
            out.dataset.grid = loc.grid_code;
          }
          if (window.htmx) window.htmx.trigger(document.body, "located");
        });
    }

    m = create(el, {
      symbol: "pin", symbolSize: 28,
      onPick: function (x, y) {
        lon.value = x.toFixed(6);
        lat.value = y.toFixed(6);
        located(x, y);
      }
    });
    function typed() {
      var x = parseFloat(lon.value), y = parseFloat(lat.value);
      if (!isNaN(x) && !isNaN(y)) located(x, y);
    }
    lon.addEventListener("change", typed);
    lat.addEventListener("change", typed);
    if (lon.value && lat.value) setTimeout(typed, 0);
  }

  window.CityOSCaseMap = { create: create, regionTip: regionTip, caseTip: caseTip };
  var c = document.getElementById("casemap");
  if (c) casesMap(c);
  var p = document.getElementById("pickmap");
  if (p) pickMap(p);
})();
