/* The grid worker's patrol page: check in/out and a patrol that records the track while the page
   is open. Positions come from navigator.geolocation (WGS84); fixes are kept on the page and posted
   every 30 s, and on ending the patrol. The browser's own error text (English, technical) is never
   shown: each failure maps to a message the page carries in the reader's language. */
(function () {
  "use strict";
  var app = document.getElementById("patrol-app");
  if (!app) { return; }
  var FLUSH_MS = 30000;
  var status = document.getElementById("patrol-status");
  var lang = document.documentElement.lang === "en" ? "en" : "zh-CN";
  var csrf = "";
  try { csrf = JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRF-Token"] || ""; } catch (e) { csrf = ""; }
  var patrolId = app.dataset.open;
  var buffer = [];
  var sent = 0;

  function say(text) { status.textContent = text; }

  function geoMessage(err) {
    if (err && err.code === 1) { return app.dataset.msgDenied; }
    return app.dataset.msgUnavailable;
  }

  function post(url, body, keepalive) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      keepalive: !!keepalive,
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body || {})
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (data) {
        if (!r.ok) {
          var msg = data && data.error && data.error.message ? data.error.message[lang] : String(r.status);
          var e = new Error(msg); e.status = r.status; e.code = data && data.error && data.error.code; throw e;
        }
        return data;
      });
    });
  }

  // attendance takes a fresh fix (maximumAge 0): a cached one may be from before the worker walked in
  function locate(then) {
    if (!navigator.geolocation) { say(app.dataset.msgUnsupported); return; }
    say(app.dataset.msgLocating);
    navigator.geolocation.getCurrentPosition(function (pos) {
      then({ lon: pos.coords.longitude, lat: pos.coords.latitude, crs: "wgs84" });
    }, function (err) { say(geoMessage(err)); }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 0 });
  }

  function attend(kind) {
    locate(function (position) {
      post("/api/v1/patrol/check-" + kind, position).then(function () { location.reload(); })
        .catch(function (e) { say(e.message); });
    });
  }

  function flush(keepalive) {
    if (!patrolId || buffer.length === 0) { return Promise.resolve(); }
    var batch = buffer.splice(0, 500);
    return post("/api/v1/patrols/" + patrolId + "/points", { points: batch }, keepalive).then(function (p) {
      sent = p.point_count;
      say(app.dataset.msgSent.replace("{n}", sent));
    }).catch(function (e) {
      if (e.status === 409 || e.status === 404) { patrolId = ""; return; }  // ended elsewhere: stop
      buffer = batch.concat(buffer);  // keep the fixes for the next try
      say(e.status ? e.message : app.dataset.msgOffline);
    });
  }

  function record() {
    if (!navigator.geolocation) { say(app.dataset.msgUnsupported); return; }
    say(app.dataset.msgRecording);
    var lost = false;
    navigator.geolocation.watchPosition(function (pos) {
      if (lost) { lost = false; say(app.dataset.msgRecording); }  // a fix again after a gap
      buffer.push({
        lon: pos.coords.longitude, lat: pos.coords.latitude, crs: "wgs84",
        accuracy_m: Math.min(pos.coords.accuracy || 0, 100000),
        at: new Date(pos.timestamp || Date.now()).toISOString()
      });
    }, function (err) { lost = true; say(geoMessage(err)); }, { enableHighAccuracy: true, maximumAge: 5000 });
    setInterval(function () { flush(false); }, FLUSH_MS);
    window.addEventListener("pagehide", function () { flush(true); });
  }

  app.addEventListener("click", function (ev) {
    var action = ev.target && ev.target.getAttribute("data-action");
    if (!action) { return; }
    ev.target.disabled = true;
    var done = function () { ev.target.disabled = false; };
    if (action === "check-in" || action === "check-out") { attend(action.slice(6)); done(); }
    if (action === "start") {
      post("/api/v1/patrols", {}).then(function () { location.reload(); })
        .catch(function (e) { say(e.message); done(); });
    }
    if (action === "end") {
      var last = buffer.splice(0, 500);
      post("/api/v1/patrols/" + patrolId + "/end", { points: last }).then(function (p) {
        location.href = "/patrol/" + p.id;
      }).catch(function (e) { buffer = last.concat(buffer); say(e.message); done(); });
    }
  });

  if (patrolId) { record(); }
})();
