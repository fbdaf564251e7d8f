/* Cases pages: the device's location on the report form; the evaluation chart; print buttons
   (the page's CSP allows no inline handlers). */
(function () {
  "use strict";
  Array.prototype.forEach.call(document.querySelectorAll("[data-print]"), function (b) {
    b.addEventListener("click", function () { window.print(); });
  });
  var btn = document.getElementById("use-location");
  if (btn) {
    // The browser's own error text ("User denied Geolocation") is English and says nothing about
    // what to do: say it in the page's language, from the button's data-* messages.
    var status = document.getElementById("location-status");
    btn.addEventListener("click", function () {
      if (!navigator.geolocation || !window.isSecureContext) {
        status.textContent = btn.dataset.unsupported;
        return;
      }
      status.textContent = "…";
      navigator.geolocation.getCurrentPosition(function (pos) {
        document.getElementById("lon").value = pos.coords.longitude.toFixed(6);
        document.getElementById("lat").value = pos.coords.latitude.toFixed(6);
        document.getElementById("lat").dispatchEvent(new Event("change"));  // the map moves its pin
        status.textContent = "±" + Math.round(pos.coords.accuracy) + " m";
      }, function (err) {
        status.textContent = err.code === 1 ? btn.dataset.denied
          : err.code === 3 ? btn.dataset.timeout : btn.dataset.unavailable;
      }, { enableHighAccuracy: true, timeout: 10000 });
    });
  }
  var search = document.getElementById("category-search");
  var select = document.getElementById("category-select");
  if (search && select) {
    // Filter the 82 小类 as one types (name, 大类 or code); the first match is chosen, so a
    // search and Enter is enough on a phone.
    var catStatus = document.getElementById("category-status");
    search.addEventListener("input", function () {
      var q = search.value.trim().toLowerCase();
      var first = null;
      Array.prototype.forEach.call(select.querySelectorAll("optgroup"), function (g) {
        var shown = 0;
        Array.prototype.forEach.call(g.querySelectorAll("option"), function (o) {
          var text = (o.textContent + " " + g.label + " " + o.value).toLowerCase();
          var hit = !q || text.indexOf(q) >= 0;
          o.hidden = !hit;
          o.disabled = !hit;
          if (hit) { shown += 1; if (!first && q) { first = o; } }
        });
        g.hidden = shown === 0;
      });
      if (first) { select.value = first.value; }
      catStatus.textContent = q && !first ? search.dataset.none : "";
    });
    search.addEventListener("keydown", function (e) {
      if (e.key === "Enter") { e.preventDefault(); select.focus(); }
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
