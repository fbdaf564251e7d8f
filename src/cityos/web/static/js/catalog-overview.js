// The data bureau's overview charts: resources per department by share type, and the share mix.
(function () {
  "use strict";
  function draw() {
    var el = document.getElementById("chart-depts");
    if (!el || !window.echarts) { return; }
    fetch(el.dataset.src, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (o) {
      var lang = document.documentElement.lang === "en";
      var names = { unconditional: lang ? "Unconditional" : "无条件共享", conditional: lang ? "Conditional" : "有条件共享", none: lang ? "Not shared" : "不予共享", stale: lang ? "Stale" : "过期未更新" };
      var depts = o.departments.map(function (d) { return d.name; });
      var series = ["unconditional", "conditional", "none"].map(function (k) {
        return { name: names[k], type: "bar", stack: "share", data: o.departments.map(function (d) { return d[k]; }) };
      });
      series.push({ name: names.stale, type: "scatter", symbolSize: 14, data: o.departments.map(function (d) { return d.stale || null; }) });
      el.style.height = Math.max(320, 60 + depts.length * 28) + "px";  // one readable row per department
      echarts.init(el).setOption({
        // counts of resources are whole numbers: no 0.5 ticks; containLabel sizes the grid to the
        // longest department name instead of cutting names at a fixed 150 px
        tooltip: { trigger: "axis" }, legend: {}, grid: { left: 10, right: 20, containLabel: true },
        xAxis: { type: "value", minInterval: 1, axisLabel: { formatter: "{value}" } },
        yAxis: { type: "category", data: depts, inverse: true, axisLabel: { interval: 0, overflow: "none" } },
        series: series
      });
      var pie = document.getElementById("chart-share");
      echarts.init(pie).setOption({
        tooltip: { trigger: "item" },
        series: [{ type: "pie", radius: ["40%", "70%"], data: Object.keys(o.share_types).map(function (k) { return { name: names[k], value: o.share_types[k] }; }) }]
      });
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
})();
