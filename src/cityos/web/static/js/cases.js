/* Cases pages: the device's location on the report form; the evaluation chart; print buttons
   (the page's CSP allows no inline handlers). */
(function () {
  "use strict";
  Array.prototype.forEach.call(document.querySelectorAll("[data-print]"), function (b) {
    b.addEventListener("click", function () { window.print(); });
  });
  var btn = document.getElementById("use-location");
  if (btn && navigator.geolocation) {
    btn.addEventListener("click", function () {
      var status = document.getElementById("location-status");
      status.textContent = "…";
      navigator.geolocation.getCurrentPosition(function (pos) {
        document.getElementById("lon").value = pos.coords.longitude.toFixed(6);
        document.getElementById("lat").value = pos.coords.latitude.toFixed(6);
        status.textContent = "±" + Math.round(pos.coords.accuracy) + " m";
      }, function (err) { status.textContent = err.message; }, { enableHighAccuracy: true, timeout: 10000 });
    });
  }
  var chartEl = document.getElementById("eval-chart");
  if (chartEl && window.echarts) {
    var d = chartEl.dataset;
    var pct = function (xs) { return JSON.parse(xs).map(function (v) { return v === null ? null : Math.round(v * 1000) / 10; }); };
    var chart = echarts.init(chartEl);
    chart.setOption({
      tooltip: { trigger: "axis", valueFormatter: function (v) { return v === null ? "—" : v + "%"; } },
      legend: { data: [d.labelClosed, d.labelOntime] },
      xAxis: { type: "category", data: JSON.parse(d.names), axisLabel: { interval: 0, rotate: 30 } },
      yAxis: { type: "value", max: 100, axisLabel: { formatter: "{value}%" } },
      series: [{ name: d.labelClosed, type: "bar", data: pct(d.closed) },
               { name: d.labelOntime, type: "bar", data: pct(d.ontime) }]
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }
})();
