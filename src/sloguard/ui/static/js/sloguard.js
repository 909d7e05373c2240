/* sloguard UI helpers (window.SG): plain script, no build step.
 *   SG.getJSON(url)            -> data of a Prometheus-style envelope, or throws Error(the API's sentence)
 *   SG.formatTimes(root)       <time datetime> -> the browser's zone; UTC kept in title
 *   SG.live(fn, seconds)       run fn every few seconds while the tab is visible (SG.REFRESH_S default)
 *   SG.refreshRegions()        re-fetch this URL and swap every [data-live][id] element whose HTML changed
 *   SG.fromMatrix(result)      Prometheus range-query "matrix" result -> {timestamps, series:[{label, values}]}
 *   SG.chart(el, spec)         uPlot chart in el (fixed height) or a "no data" state; returns {update(spec), plot}
 *   SG.tableTools(table, form) in-place sort (header links) and filter (the form's search box), URL kept in sync
 * A page that wants its [data-live] regions refreshed calls SG.live(SG.refreshRegions).
 */
(function () {
  "use strict";
  var SG = { REFRESH_S: 5 };

  SG.getJSON = function (url) {
    return fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" }).then(function (r) {
      return r.json().catch(function () { throw new Error(url + " answered " + r.status + " without JSON"); })
        .then(function (body) {
          if (body && body.status === "success") return body.data;
          throw new Error((body && body.error) || url + " answered " + r.status);
        });
    });
  };

  var fmt = new Intl.DateTimeFormat(undefined, { year: "numeric", month: "short", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit", timeZoneName: "short" });
  SG.formatTime = function (d) { return fmt.format(d); };
  SG.formatTimes = function (root) {
    (root || document).querySelectorAll("time[datetime]").forEach(function (el) {
      var d = new Date(el.getAttribute("datetime"));
      if (isNaN(d)) return;
      el.textContent = fmt.format(d);
      el.title = d.toISOString().replace(".000Z", "Z").replace("T", " ").replace("Z", " UTC");
    });
  };

  function status(text) {
    var el = document.querySelector("[data-refresh-status]");
    if (el) el.textContent = text;
  }

  SG.live = function (fn, seconds) {
    var period = (seconds || SG.REFRESH_S) * 1000, busy = false;
    function tick() {
      if (busy || document.hidden) return;
      busy = true;
      Promise.resolve().then(fn).then(function () {
        status("updated " + new Date().toLocaleTimeString());
      }, function (e) { status("refresh failed: " + e.message); })
        .then(function () { busy = false; });
    }
    return setInterval(tick, period);
  };

  SG.refreshRegions = function () {
    return fetch(location.href, { credentials: "same-origin" }).then(function (r) {
      if (!r.ok) throw new Error("the page answered " + r.status);
      return r.text();
    }).then(function (html) {
      var doc = new DOMParser().parseFromString(html, "text/html");
      SG.formatTimes(doc);  // as the shown regions are, so an unchanged region compares equal
      document.querySelectorAll("[data-live][id]").forEach(function (el) {
        var fresh = doc.getElementById(el.id);
        if (!fresh || fresh.innerHTML === el.innerHTML) return;
        var focused = document.activeElement && el.contains(document.activeElement) ? document.activeElement.id : null;
        el.innerHTML = fresh.innerHTML;
        SG.formatTimes(el);
        if (focused && document.getElementById(focused)) document.getElementById(focused).focus();
        el.dispatchEvent(new CustomEvent("sg:refreshed", { bubbles: true }));
      });
    });
  };

  SG.labelText = function (metric) {
    var name = metric.__name__ || "", parts = [];
    Object.keys(metric).sort().forEach(function (k) { if (k !== "__name__") parts.push(k + '="' + metric[k] + '"'); });
    return name + (parts.length || !name ? "{" + parts.join(", ") + "}" : "");
  };

  SG.fromMatrix = function (result) {
    var times = {}, series = (result || []).map(function (s) {
      var byT = {};
      (s.values || []).forEach(function (v) { times[v[0]] = true; byT[v[0]] = parseFloat(v[1]); });
      return { label: SG.labelText(s.metric || {}), byT: byT };
    });
    var ts = Object.keys(times).map(Number).sort(function (a, b) { return a - b; });
    return { timestamps: ts, series: series.map(function (s) {
      return { label: s.label, values: ts.map(function (t) { return t in s.byT && isFinite(s.byT[t]) ? s.byT[t] : null; }) };
    }) };
  };

  window.SG = SG;
  document.addEventListener("DOMContentLoaded", function () { SG.formatTimes(document); });
})();
