/* The report form's map: drop the pin where the problem is, or confirm the one the phone's
   location put there. The map (casemap.js's drawing, over the tile base map when one is set up)
   shows districts → streets → communities from /api/v1/geo/pin/outlines, which every signed-in
   user may read, citizens too; each pin asks /api/v1/geo/pin/place for the grid it falls in and its
   address (a pin just outside the city's grids is moved onto the nearest one). The point is
   WGS84, what the form posts with crs=wgs84. */
(function () {
  "use strict";
  var el = document.getElementById("reportmap");
  if (!el || !window.CityOSCaseMap) { return; }
  var lon = document.getElementById("lon");
  var lat = document.getElementById("lat");
  var out = document.getElementById("report-place");
  var crs = document.querySelector("select[name=crs]");
  var m;

  function show(x, y) { m.setPoints([{ value: [x, y], itemStyle: { color: "#d64541" } }]); }

  function place(x, y) {
    show(x, y);
    out.textContent = "…";
    el.dataset.grid = "";
    fetch("/api/v1/geo/pin/place?lon=" + x + "&lat=" + y, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (pl) {
        if (!pl) { out.textContent = out.dataset.outside; return; }
        if (pl.snapped) {
          lon.value = pl.lon.toFixed(6);
          lat.value = pl.lat.toFixed(6);
          show(pl.lon, pl.lat);
        }
        out.textContent = pl.address + (pl.snapped ? " · " + out.dataset.snapped : "");
        el.dataset.grid = pl.grid_code;
      });
  }

  m = CityOSCaseMap.create(el, {
    outlines: "/api/v1/geo/pin/outlines", deepest: "community", symbol: "pin", symbolSize: 28,
    onPick: function (x, y) {
      lon.value = x.toFixed(6);
      lat.value = y.toFixed(6);
      if (crs) { crs.value = "wgs84"; }
      place(x, y);
    }
  });

  function typed() {
    var x = parseFloat(lon.value), y = parseFloat(lat.value);
    if (crs && crs.value !== "wgs84") { return; }  // the map speaks WGS84 only
    if (!isNaN(x) && !isNaN(y)) { place(x, y); }
  }
  lon.addEventListener("change", typed);
  lat.addEventListener("change", typed);
  if (lon.value && lat.value) { setTimeout(typed, 0); }
})();
