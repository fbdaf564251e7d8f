/* The grid map: ECharts with the grids' GeoJSON over the configured tile base map (basemap.js), or
   the outlines alone offline.
   Levels: district → street → community → grid; click drills down, the breadcrumb goes back up.
   Other pages reuse it: CityOSGridMap.create(element, {onRegion, extraSeries}). */
(function () {
  "use strict";
  var NEXT = { district: "street", street: "community", community: "grid", grid: null };

  /* ECharts puts a formatter's string into the page as HTML: every name from the data (region,
     grid, worker) is escaped, so a region called "<img onerror=…>" is shown as text. */
  function esc(v) {
    return String(v === undefined || v === null ? "" : v).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  /* The tooltip of a region (pr: its GeoJSON properties; labels: the element's data-* texts). */
  function tooltip(pr, code, level, labels) {
    pr = pr || {};
    var lines = ["<b>" + esc(pr.name || code) + "</b>", esc(labels.labelCode) + ": " + esc(code)];
    if (level === "grid") lines.push(esc(labels.labelWorker) + ": " + esc(pr.grid_worker || labels.labelNone));
    else lines.push(esc(labels.labelGrids) + ": " + esc(pr.grids || 0));
    return lines.join("<br>");
  }

  function create(el, opts) {
    opts = opts || {};
    var chart = echarts.init(el);
    var tiles = window.CityOSBaseMap ? CityOSBaseMap.attach(chart, { seriesIndex: 0 }) : { redraw: function () {} };
    var projection = window.CityOSBaseMap ? CityOSBaseMap.projection() : null;
    var d = el.dataset;
    var stack = [{ level: "district", under: d.city || "", name: d.cityName || "" }];
    var crumbs = document.getElementById(el.id + "-crumbs");

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

    function load() {
      var top = stack[stack.length - 1];
      drawCrumbs();
      chart.showLoading();
      fetch("/api/v1/geo/grids.geojson?level=" + top.level + "&under=" + encodeURIComponent(top.under), { credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (fc) {
          var mapName = "cityos-" + top.level + "-" + top.under;
          echarts.registerMap(mapName, fc);
          var data = fc.features.map(function (f) {
            return { name: f.properties.code, value: f.properties.grids, props: f.properties };
          });
          chart.hideLoading();
          chart.setOption({
            tooltip: {
              trigger: "item",
              formatter: function (p) { return tooltip(p.data && p.data.props, p.name, top.level, d); }
            },
            visualMap: { show: false, min: 0, max: Math.max.apply(null, data.map(function (x) { return x.value || 1; })),
                         inRange: projection ? { color: ["rgba(219,231,251,0.25)", "rgba(31,95,191,0.45)"] }
                                             : { color: ["#dbe7fb", "#1f5fbf"] } },
            series: [{
              type: "map", map: mapName, roam: true, nameProperty: "code", data: data, selectedMode: false,
              projection: projection || undefined,
              label: { show: top.level !== "grid" || data.length < 60, fontSize: 10,
                       formatter: function (p) { return (p.data && p.data.props && p.data.props.name) || p.name; } },
              emphasis: { itemStyle: { areaColor: "#f5b642" } },
              itemStyle: { borderColor: "#fff", borderWidth: top.level === "grid" ? 0.5 : 1 }
            }].concat(opts.extraSeries ? opts.extraSeries(mapName) : [])
          }, true);
          tiles.redraw();
          el.dataset.level = top.level;
          el.dataset.regions = String(data.length);
          if (opts.onRegion) opts.onRegion(top);
        });
    }

    chart.on("click", function (p) {
      var top = stack[stack.length - 1];
      var next = NEXT[top.level];
      if (!next || p.componentSubType !== "map") return;
      var props = (p.data && p.data.props) || {};
      stack.push({ level: next, under: p.name, name: props.name || p.name });
      load();
    });
    window.addEventListener("resize", function () { chart.resize(); });
    load();
    return { chart: chart, reload: load };
  }

  window.CityOSGridMap = { create: create, tooltip: tooltip, esc: esc };
  var el = document.getElementById("gridmap");
  if (el && !el.dataset.manual) create(el);
})();
