/* The cockpit's big screens: every number comes from /api/v1/cockpit/screens/{theme} (stored
   values only) and is fetched again every 30 s, so the screen updates without a reload. A figure
   whose source is stale says so with its age; one the share rules refused says so — never 0.
   The map: district outlines (grids layer, coloured by open cases), case heat, the placed devices
   (online / offline) or the devices with open alarms (by severity); a click on a district drills
   down to /cockpit/drill?region=… (district → street → grid → the case), on a device opens it. */
(function () {
  "use strict";
  var root = document.getElementById("bigscreen");
  if (!root) return;
  var L = JSON.parse(document.getElementById("cockpit-labels").textContent);
  var DARK = { text: "#cfe3ff", axis: "#4a6a93", grid: "rgba(74,106,147,.25)" };
  var LIGHT = { green: "#2ecc71", yellow: "#f1c40f", red: "#e74c3c", none: "#7f8c8d" };
  var SEVERITY = { critical: "#e74c3c", major: "#e67e22", minor: "#f1c40f", warning: "#f1c40f", info: "#4fc3f7" };
  var charts = {};
  var layer = "grids";
  var last = null;
  var mapReady = false;

  function esc(v) {
    return String(v === undefined || v === null ? "" : v).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function fmt(v, d) {
    if (v === null || v === undefined) return "—";
    var n = Number(v);
    return n.toLocaleString("zh-CN", { maximumFractionDigits: d === undefined ? 2 : d });
  }
  function age(s) {
    if (s === null || s === undefined) return "";
    var t = s < 3600 ? L.minutes.replace("{n}", Math.max(1, Math.round(s / 60)))
      : s < 172800 ? L.hours_ago.replace("{n}", Math.round(s / 3600)) : L.days.replace("{n}", Math.round(s / 86400));
    return L.age.replace("{t}", t);
  }
  function chart(id) {
    var el = document.getElementById(id);
    if (!el) return null;
    if (!charts[id]) {
      var c = echarts.init(el, null, { renderer: "canvas" });
      charts[id] = c;
      /* a panel's size changes once the tiles above it are filled in: follow it */
      if (window.ResizeObserver) new ResizeObserver(function () { c.resize(); }).observe(el);
    }
    return charts[id];
  }
  function base() {
    return { textStyle: { color: DARK.text }, grid: { left: 48, right: 16, top: 24, bottom: 32, containLabel: true },
      tooltip: { trigger: "axis", confine: true }, animation: false };
  }
  function axis(type, data) {
    return { type: type, data: data, axisLine: { lineStyle: { color: DARK.axis } },
      axisLabel: { color: DARK.text }, splitLine: { lineStyle: { color: DARK.grid } } };
  }

  function tile(t) {
    var el = document.createElement("article");
    el.className = "bs-tile status-" + t.status + (t.stale ? " stale" : "") + ((t.warnings || []).length ? " warn" : "");
    el.dataset.testid = "tile-" + t.code;
    el.setAttribute("data-testid", "tile-" + t.code);
    var h = "<h3>" + esc(t.name) + "</h3>";
    if (t.status === "refused") {
      h += '<p class="bs-value refused" data-testid="refused">' + esc(L.refused) + "</p>";
      if (t.refusal) h += '<p class="bs-note">' + esc(t.refusal["zh-CN"] || t.refusal.en || "") + "</p>";
    } else if (t.status !== "ok" || t.value === null || t.value === undefined) {
      h += '<p class="bs-value nodata">' + esc(t.status === "ok" ? L.nodata : L.pending) + "</p>";
    } else {
      var shown = t.ytd !== null && t.ytd !== undefined ? t.ytd : t.value;
      h += '<p class="bs-value"><b>' + fmt(shown) + "</b> <small>" + esc(t.unit) + "</small></p>";
      h += '<p class="bs-note">' + esc(t.period || "");
      if (t.growth !== null && t.growth !== undefined) {
        h += ' · <span class="' + (t.growth < 0 ? "down" : "up") + '">' + esc(t.ytd !== null && t.ytd !== undefined ? L.ytd_yoy : L.yoy) + " " + fmt(t.growth) + "%</span>";
      }
      if (t.province_growth !== null && t.province_growth !== undefined) {
        var gap = Math.round((Math.round(t.growth * 10) - Math.round(t.province_growth * 10))) / 10;
        h += ' · <span data-testid="vs-province">' + esc(L.province) + " " + fmt(t.province_growth, 1) + "%（" + (gap >= 0 ? "+" : "") + fmt(gap, 1) + "）</span>";
      }
      if (t.target_pct !== null && t.target_pct !== undefined) h += " · " + esc(L.target) + " " + fmt(t.target_pct, 1) + "% / " + fmt(t.schedule_pct, 1) + "%";
      h += "</p>";
      (t.warnings || []).forEach(function (w) { h += '<span class="bs-badge warn">' + esc(w === "yoy" ? L.negative : L.behind) + "</span>"; });
      if (t.spark && t.spark.length) h += '<div class="bs-spark" id="spark-' + esc(t.code) + '"></div>';
    }
    if (t.stale) h += '<span class="bs-badge stale" data-testid="stale">' + esc(L.stale) + " · " + esc(age(t.age_s)) + "</span>";
    el.innerHTML = '<a href="/cockpit/metrics/' + encodeURIComponent(t.code) + '">' + h + "</a>";
    return el;
  }

  function tiles(d) {
    var box = document.getElementById("bs-tiles");
    box.innerHTML = "";
    d.tiles.forEach(function (t) { box.appendChild(tile(t)); });
    d.tiles.forEach(function (t) {
      var el = document.getElementById("spark-" + t.code);
      if (!el) return;
      if (charts["spark-" + t.code]) charts["spark-" + t.code].dispose();
      var c = echarts.init(el, null, { renderer: "canvas" });
      var one = t.spark.length < 2;  /* one month so far (a metric the worker began this month): a bar */
      charts["spark-" + t.code] = c;
      c.setOption({ animation: false, grid: { left: 2, right: 2, top: 4, bottom: 2 },
        /* the baseline stays drawn, so a month of 0 is a visible 0, not an empty chart */
        xAxis: { type: "category", data: t.spark.map(function (p) { return p[0]; }), axisLine: { lineStyle: { color: "#1f4d80" } },
          axisTick: { show: false }, axisLabel: { show: false } },
        yAxis: one ? { type: "value", show: false, min: 0 } : { type: "value", show: false, scale: true },
        series: [{ type: one ? "bar" : "line", barWidth: "40%", smooth: true, symbol: "none", data: t.spark.map(function (p) { return p[1]; }),
          lineStyle: { color: "#4fc3f7", width: 2 }, areaStyle: { color: "rgba(79,195,247,.18)" } }] });
    });
  }

  function alerts(d) {
    var ul = document.getElementById("list-alerts");
    if (!ul) return;
    ul.innerHTML = d.alerts.length ? "" : "<li class='muted'>" + esc(L.noalerts) + "</li>";
    d.alerts.forEach(function (a) {
      var li = document.createElement("li");
      li.className = "warn";
      li.innerHTML = '<a href="/cockpit/metrics/' + encodeURIComponent(a.metric) + "?region=" + encodeURIComponent(a.region) + '">' +
        esc(a.region_name) + " · " + esc(a.name) + " · " + esc(a.period) + "：" + fmt(a.value) + " / " + fmt(a.limit) + "</a>";
      ul.appendChild(li);
    });
  }

  function cityCharts(c) {
    if (!c || c.status !== "ok") return;
    var lights = ["green", "yellow", "red", "none"];
    var lc = chart("chart-lights");
    if (lc) lc.setOption(Object.assign(base(), { tooltip: { trigger: "item" },
      series: [{ type: "pie", radius: ["45%", "72%"], label: { color: DARK.text, formatter: "{b} {c}" },
        data: lights.map(function (k) { return { name: L[k], value: c.lights[k] || 0, itemStyle: { color: LIGHT[k] } }; }) }] }), true);
    var hc = chart("chart-hours");
    if (hc) hc.setOption(Object.assign(base(), { xAxis: axis("category", c.intake_hours.map(function (_n, i) { return String(i - 23) + "h"; })),
      yAxis: axis("value"), series: [{ type: "bar", data: c.intake_hours, itemStyle: { color: "#4fc3f7" } }] }), true);
    var oc = chart("chart-ontime");
    /* the figure sits below the dial's 0 … 100, not on them */
    if (oc) oc.setOption({ animation: false, series: [{ type: "gauge", min: 0, max: 100, progress: { show: true }, radius: "80%", center: ["50%", "48%"],
      detail: { formatter: c.on_time_rate === null ? "—" : "{value}%", color: DARK.text, fontSize: 24, offsetCenter: [0, "78%"] },
      axisLabel: { color: DARK.text }, data: [{ value: c.on_time_rate === null ? 0 : c.on_time_rate, name: L.on_time }],
      title: { color: DARK.text, offsetCenter: [0, "104%"] } }] }, true);
    var cc = chart("chart-categories");
    if (cc) cc.setOption(Object.assign(base(), { xAxis: axis("value"),
      yAxis: Object.assign(axis("category", c.categories.map(function (x) { return x[0]; }).reverse())),
      series: [{ type: "bar", data: c.categories.map(function (x) { return x[1]; }).reverse(), itemStyle: { color: "#ffb74d" } }] }), true);
    var dc = chart("chart-districts");
    if (dc) {
      dc.setOption(Object.assign(base(), { legend: { textStyle: { color: DARK.text }, top: 0 },
        xAxis: axis("category", c.districts.map(function (x) { return x.name; })), yAxis: axis("value"),
        series: lights.map(function (k) { return { name: L[k], type: "bar", stack: "open", itemStyle: { color: LIGHT[k] },
          data: c.districts.map(function (x) { return x[k] || 0; }) }; }) }), true);
      dc.off("click");
      dc.on("click", function (p) { var x = c.districts[p.dataIndex]; if (x) location.href = "/cockpit/drill?region=" + x.code; });
    }
    var hot = document.getElementById("list-hot");
    if (hot) {
      hot.innerHTML = "";
      c.hot_spots.forEach(function (g) {
        var li = document.createElement("li");
        li.innerHTML = '<a href="/cockpit/drill?region=' + encodeURIComponent(g.code) + '">' + esc(g.name) + "</a> <b>" + esc(g.open) + "</b>";
        hot.appendChild(li);
      });
    }
  }

  function economyCharts(d) {
    var r = d.ranking;
    var rc = chart("chart-ranking");
    if (rc) {
      var rows = r ? r.rows : [];
      var title = document.getElementById("ranking-title");
      if (title && r) title.textContent = L.ranking + " · " + r.name + "（" + L.ytd_yoy + "）";
      rc.setOption(Object.assign(base(), { xAxis: axis("category", rows.map(function (x) { return x.name; })), yAxis: axis("value"),
        series: [{ type: "bar", data: rows.map(function (x) { return { value: x.growth, itemStyle: { color: (x.growth || 0) < 0 ? "#e74c3c" : "#4fc3f7" } }; }),
          label: { show: true, position: "top", color: DARK.text, formatter: "{c}%" } }] }), true);
      rc.off("click");
      rc.on("click", function (p) { var x = rows[p.dataIndex]; if (x) location.href = "/cockpit/drill?region=" + x.region; });
    }
    var sc = chart("chart-schedule");
    if (sc) {
      var ts = d.tiles.filter(function (t) { return t.target_pct !== null && t.target_pct !== undefined; });
      sc.setOption(Object.assign(base(), { legend: { textStyle: { color: DARK.text }, top: 0 },
        xAxis: axis("value"), yAxis: axis("category", ts.map(function (t) { return t.name; })),
        series: [
          { name: L.target, type: "bar", data: ts.map(function (t) { return t.target_pct; }), itemStyle: { color: "#4fc3f7" } },
          { name: L.schedule, type: "scatter", symbol: "diamond", symbolSize: 14, data: ts.map(function (t) { return t.schedule_pct; }), itemStyle: { color: "#ffb74d" } }
        ] }), true);
    }
  }

  function livelihoodCharts(d) {
    var c = d.cases;
    if (!c || c.status !== "ok") return;
    var hl = chart("chart-hotline");
    var rows = c.hotline_districts || [];
    if (hl) hl.setOption(Object.assign(base(), { xAxis: axis("category", rows.map(function (x) { return x.name; })), yAxis: axis("value"),
      series: [{ type: "bar", data: rows.map(function (x) { return x.n; }), itemStyle: { color: "#81c784" } }] }), true);
    var sat = d.tiles.filter(function (t) { return t.code === "satisfaction"; })[0];
    var sg = chart("chart-satisfaction");
    if (sg) sg.setOption({ animation: false, series: [{ type: "gauge", min: 0, max: 5, splitNumber: 5,
      detail: { formatter: sat && sat.value !== null && sat.value !== undefined ? "{value}" : L.nodata, color: DARK.text, fontSize: 24, offsetCenter: [0, "45%"] },
      pointer: { show: !!(sat && sat.value) }, progress: { show: !!(sat && sat.value) },
      axisLabel: { color: DARK.text }, data: [{ value: sat && sat.value ? sat.value : 0 }] }] }, true);
    servicesChart(d);
    cityCharts(c);
  }

  function servicesChart(d) {
    var sv = chart("chart-services");
    if (!sv) return;
    var codes = ["svc_on_time", "svc_satisfaction", "svc_certificate_free"];
    var ts = codes.map(function (k) { return d.tiles.filter(function (t) { return t.code === k; })[0]; }).filter(Boolean);
    var apps = d.tiles.filter(function (t) { return t.code === "svc_applications"; })[0];
    var title = document.getElementById("services-title");
    var n = apps ? (apps.ytd !== null && apps.ytd !== undefined ? apps.ytd : apps.value) : null;
    if (title) title.textContent = L.services + (n !== null && n !== undefined ? " · " + apps.name + "（" + L.ytd + "）" + fmt(n, 0) + apps.unit : "");
    var opt = base();
    opt.grid = Object.assign({}, opt.grid, { right: 56 });  /* room for the bars' labels */
    sv.setOption(Object.assign(opt, { tooltip: { trigger: "item" },
      xAxis: Object.assign(axis("value"), { min: 0, max: 100 }), yAxis: axis("category", ts.map(function (t) { return t.name; })),
      series: [{ type: "bar", barWidth: "45%", itemStyle: { color: "#81c784" },
        data: ts.map(function (t) { return t.status === "ok" && t.value !== null && t.value !== undefined ? t.value : null; }),
        label: { show: true, position: "right", color: DARK.text, formatter: function (p) { return p.value === null || p.value === undefined ? L.nodata : fmt(p.value, 1) + "%"; } } }] }), true);
  }

  function drawMap(d) {
    var mc = chart("chart-map");
    if (!mc || !mapReady) return;
    var c = d.cases;
    var sn = d.sensing;
    var series = [];
    var values = {};
    if (c && c.status === "ok") c.districts.forEach(function (x) { values[x.name] = x.green + x.yellow + x.red + x.none; });
    if (d.ranking) d.ranking.rows.forEach(function (x) { if (!(x.name in values)) values[x.name] = x.growth; });
    var maxv = Math.max.apply(null, [1].concat(Object.keys(values).map(function (k) { return values[k] || 0; })));
    if (layer === "grids") {
      series.push({ type: "map", map: "cockpit-city", roam: true, top: 10, bottom: 10, label: { show: true, color: "#fff" },
        itemStyle: { borderColor: "#4fc3f7", areaColor: "#10335a" }, emphasis: { itemStyle: { areaColor: "#1f5f99" } },
        data: Object.keys(values).map(function (k) { return { name: k, value: values[k] }; }) });
    } else if (layer === "heat") {
      series.push({ type: "heatmap", coordinateSystem: "geo", data: (c && c.points ? c.points : []).map(function (p) { return [p[0], p[1], 1]; }),
        pointSize: 6, blurSize: 10 });
    } else {
      var pts = sn && sn.points ? sn.points : [];
      if (layer === "alarms") pts = pts.filter(function (p) { return p[6] > 0; });
      series.push({ type: layer === "alarms" ? "effectScatter" : "scatter", coordinateSystem: "geo", symbolSize: layer === "alarms" ? 11 : 7,
        data: pts.map(function (p) { return { name: p[3], value: [p[0], p[1], p[6]], id: p[2],
          itemStyle: { color: layer === "alarms" ? (SEVERITY[p[5]] || "#e74c3c") : (p[4] ? "#2ecc71" : "#7f8c8d") } }; }),
        tooltip: { formatter: function (q) { return esc(q.name) + "<br>" + esc(layer === "alarms" ? L.open_alarms + " " + q.value[2] : ""); } } });
    }
    mapNote(d);
    mc.setOption({ animation: false, tooltip: { trigger: "item" },
      visualMap: layer === "grids" ? { min: 0, max: maxv, show: false, inRange: { color: ["#10335a", "#1f78c1", "#4fc3f7"] } }
        : layer === "heat" ? { min: 0, max: 5, show: false, inRange: { color: ["#1f78c1", "#f1c40f", "#e74c3c"] } } : undefined,
      geo: layer === "grids" ? undefined : { map: "cockpit-city", roam: true, top: 10, bottom: 10,
        itemStyle: { areaColor: "#0d2746", borderColor: "#4fc3f7" }, label: { show: true, color: "#9ab" } },
      series: series }, true);
  }

  function mapNote(d) {
    var el = document.getElementById("map-note");
    if (!el) return;
    var src = layer === "devices" || layer === "alarms" ? d.sensing : d.cases;
    var h = "";
    if (layer === "devices" || layer === "alarms") {
      var sn = d.sensing || {};
      if (sn.status === "ok") h = esc(L.layer_devices) + " " + fmt(sn.devices, 0) + " · " + esc(L.online) + " " + fmt(sn.online, 0) + " · " + esc(L.open_alarms) + " " + fmt(sn.alarms, 0);
      else h = esc(L.pending);
    }
    if (src && src.stale) h += ' <span class="bs-badge stale" data-testid="map-stale">' + esc(L.stale) + (src.age_s !== null && src.age_s !== undefined ? " · " + esc(age(src.age_s)) : "") + "</span>";
    el.innerHTML = h;
  }

  function loadMap() {
    var url = "/api/v1/geo/grids.geojson?level=district&under=" + encodeURIComponent(root.dataset.city);
    fetch(url, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (fc) {
      fc.features.forEach(function (f) { f.properties.name = f.properties.name || f.properties.code; });
      echarts.registerMap("cockpit-city", fc);
      mapReady = true;
      var mc = chart("chart-map");
      mc.off("click");
      mc.on("click", function (p) {
        if (p.data && p.data.id) { location.href = "/sensing/devices/" + encodeURIComponent(p.data.id); return; }
        var f = fc.features.filter(function (x) { return x.properties.name === p.name; })[0];
        if (f) location.href = "/cockpit/drill?region=" + f.properties.code;
      });
      if (last) drawMap(last);
    });
  }

  function render(d) {
    last = d;
    tiles(d);
    alerts(d);
    if (d.theme === "city") cityCharts(d.cases);
    if (d.theme === "economy") economyCharts(d);
    if (d.theme === "livelihood") livelihoodCharts(d);
    drawMap(d);
    var up = document.getElementById("bs-updated");
    if (up) up.textContent = new Date().toLocaleTimeString("zh-CN");
    root.dataset.loaded = "1";
  }

  function refresh() {
    fetch(root.dataset.api, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error(String(r.status)); return r.json(); })
      .then(render)
      .catch(function () { root.classList.add("offline"); });
  }

  document.querySelectorAll(".bs-layers button").forEach(function (b) {
    b.addEventListener("click", function () {
      layer = b.dataset.layer;
      document.querySelectorAll(".bs-layers button").forEach(function (x) { x.classList.toggle("active", x === b); });
      if (last) drawMap(last);
    });
  });
  window.addEventListener("resize", function () { Object.keys(charts).forEach(function (k) { charts[k].resize(); }); });
  loadMap();
  refresh();
  setInterval(refresh, 1000 * Number(root.dataset.refresh || 30));
})();
