/* Sensing pages (城市感知): #sensing-map draws the devices over the streets' outlines (ECharts, the
   outlines from /api/v1/geo/grids.geojson, the base map from basemap.js when configured), red for an
   active alarm, green online, grey offline; a click opens the device. Every .sensing-chart draws a
   line: from data-series (the series API, refreshed every 30 s) or from inline data-points, with
   data-mark the time of an alarm. */
(function () {
  "use strict";
  var SEV = { critical: "#c0392b", major: "#d64541", minor: "#e0a400", warning: "#e67e22" };

  function esc(v) {
    return String(v === undefined || v === null ? "" : v).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  function deviceMap(el) {
    var chart = echarts.init(el);
    var d = el.dataset;
    Promise.all([
      fetch("/api/v1/geo/grids.geojson?level=street", { credentials: "same-origin" }).then(function (r) { return r.json(); }),
      fetch(d.points, { credentials: "same-origin" }).then(function (r) { return r.json(); })
    ]).then(function (res) {
      echarts.registerMap("cityos-sensing", res[0]);
      var data = res[1].map(function (x) {
        var color = x.alarm ? SEV[x.alarm] : x.online ? "#2e9d57" : "#9aa3ad";
        return { name: x.name, value: [x.lon, x.lat], id: x.id, alarm: x.alarm, online: x.online, type: x.type,
                 itemStyle: { color: color }, symbolSize: x.alarm ? 16 : 9 };
      });
      chart.setOption({
        tooltip: { trigger: "item", formatter: function (p) {
          if (!p.data || !p.data.id) return esc(p.name);
          return "<b>" + esc(p.data.name) + "</b> " + esc(p.data.id) + "<br>" + esc(p.data.type) + " · " +
            esc(p.data.alarm ? d.labelAlarm : p.data.online ? d.labelOnline : d.labelOffline);
        } },
        geo: { map: "cityos-sensing", roam: true, nameProperty: "code",
               itemStyle: { areaColor: "#eef2f8", borderColor: "#7f9cc9" } },
        series: [{ type: "scatter", coordinateSystem: "geo", data: data, zlevel: 1,
                   itemStyle: { borderColor: "#fff", borderWidth: 1 } }]
      });
      el.dataset.ready = "1";
      el.dataset.alarms = String(data.filter(function (x) { return x.alarm; }).length);
      el.dataset.devices = String(data.length);
    });
    chart.on("click", function (p) { if (p.data && p.data.id) window.location.href = "/sensing/devices/" + encodeURIComponent(p.data.id); });
    window.addEventListener("resize", function () { chart.resize(); });
  }

  function line(el) {
    var chart = echarts.init(el);
    var d = el.dataset;
    function draw(points) {
      var opt = {
        title: { text: d.title || "", textStyle: { fontSize: 13 } },
        tooltip: { trigger: "axis" },
        xAxis: { type: "time" }, yAxis: { type: "value", scale: true },
        grid: { left: 48, right: 16, top: 36, bottom: 28 },
        series: [{ type: "line", showSymbol: points.length < 60, data: points }]
      };
      if (d.mark) opt.series[0].markLine = { symbol: "none", data: [{ xAxis: d.mark }], lineStyle: { color: "#d64541" } };
      chart.setOption(opt);
      el.dataset.ready = "1";
      el.dataset.count = String(points.length);
    }
    if (d.points) { draw(JSON.parse(d.points)); }
    else {
      var load = function () {
        fetch(d.series, { credentials: "same-origin" }).then(function (r) { return r.json(); })
          .then(function (s) { draw(s.points || []); });
      };
      load();
      setInterval(load, 30000);
    }
    window.addEventListener("resize", function () { chart.resize(); });
  }

  function init() {
    var m = document.getElementById("sensing-map");
    if (m && window.echarts) deviceMap(m);
    Array.prototype.forEach.call(document.querySelectorAll(".sensing-chart"), function (el) {
      if (window.echarts && !el.dataset.ready) line(el);
    });
  }
  document.addEventListener("DOMContentLoaded", init);
  document.addEventListener("htmx:afterSwap", init);
})();
