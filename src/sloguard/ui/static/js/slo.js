/* SLO detail: charts from the embedded history (the /api/v1/slos/{name}/history shape), events
 * (rollouts, alerts fired/resolved/pending, silences) as vertical markers coloured by kind; while live, the page's data regions are re-read every 15 s and
 * the charts updated in place. */
(function () {
  "use strict";
  var charts = {};

  function read() { return JSON.parse(document.getElementById("slo-data").textContent); }

  function labelOf(s, suffix) {
    var l = Object.keys(s.labels || {}).map(function (k) { return k + "=" + s.labels[k]; }).join(", ");
    return (l || "all") + (suffix ? " " + suffix : "");
  }

  function pct(d) { return function (v) { return v == null ? "-" : (v * 100).toFixed(d) + "%"; }; }

  function specs(d) {
    var h = d.history || { timestamps: [], series: [] }, ts = h.timestamps;
    var events = (d.events || []).map(function (e) { return { time: e.time, label: e.label, kind: e.kind, message: e.message }; });
    var out = {
      sli: { timestamps: ts, events: events, yFormat: pct(3), yRange: [d.objective, 1],
        thresholds: [{ value: d.objective, label: "objective " + (d.objective * 100) + "%" }],
        series: h.series.map(function (s) { return { label: labelOf(s), values: s.sli }; }) },
      budget: { timestamps: ts, events: events, yFormat: pct(0), yRange: [0, 1],
        thresholds: [{ value: 0, label: "exhausted" }],
        series: h.series.map(function (s) { return { label: labelOf(s), values: s.budgetRemaining }; }) },
    };
    out.burn = function (el) {
      var longW = el.dataset.long, shortW = el.dataset.short, f = Number(el.dataset.factor), series = [];
      h.series.forEach(function (s) {
        series.push({ label: labelOf(s, longW), values: (s.burnRates || {})[longW] || [] });
        series.push({ label: labelOf(s, shortW), values: (s.burnRates || {})[shortW] || [], dash: true });
      });
      return { timestamps: ts, events: events, series: series, yRange: [0, f * 1.2],
        thresholds: [{ value: f, label: "threshold " + (+f.toPrecision(3)) + "×" }], yFormat: function (v) { return v == null ? "-" : v.toFixed(2) + "×"; } };
    };
    return out;
  }

  // dragging over a chart opens that range as a link (range + end in the query string)
  function openRange(start, end) {
    var p = new URLSearchParams(location.search);
    p.set("range", Math.max(60, Math.round(end - start)) + "s");
    p.set("end", new Date(Math.round(end) * 1000).toISOString().replace(".000Z", "Z"));
    location.search = p.toString();
  }

  function draw() {
    var s = specs(read());
    document.querySelectorAll("[data-chart]").forEach(function (el, i) {
      var kind = el.dataset.chart, spec = kind === "burn" ? s.burn(el) : s[kind];
      spec.onSelect = openRange;
      if (charts[i]) charts[i].update(spec); else charts[i] = SG.chart(el, spec);
    });
  }

  draw();
  var form = document.getElementById("range-form");
  form.elements.range.addEventListener("change", function () { form.requestSubmit(); });
  document.addEventListener("sg:refreshed", function (ev) { if (ev.target.id === "slo-data-wrap") draw(); });
  if (read().live) SG.live(SG.refreshRegions, 15);
})();
