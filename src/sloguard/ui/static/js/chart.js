/* SG.chart(el, spec): a uPlot chart in el, or a "no data" state instead of a blank chart.
 * spec = {timestamps: [unix s], series: [{label, values: [number|null], dash?: true, fill?: true,
 *         raw?: [values the legend shows instead, e.g. a stacked series' own values]}],
 *         thresholds?: [{value, label}], events?: [{time: unix s, label, kind?, message?}], yFormat?: fn, yRange?: [min, max],
 *         height?: plot px (default SG.CHART_HEIGHT), xRange?: [start, end] unix s shown even where no data,
 *         onSelect?: fn(startS, endS) called when a range is dragged on the chart (instead of zooming in place)}
 * el gets data-state="chart"|"nodata", data-series=<series drawn>, data-marks=<kinds of the event markers drawn>
 * and data-mark-x=<their x in CSS px from the plot's left>;
 * a marker's colour is its kind's (rollout, alert_fired, alert_resolved, alert_pending, silence_*), hovering it
 * shows its events; chart.update(spec) redraws in place.
 */
(function () {
  "use strict";
  var SG = window.SG;
  var COLORS = ["--s1", "--s2", "--s3", "--s4", "--s5", "--s6"];
  var KIND_COLORS = { alert_fired: "--bad", alert_resolved: "--ok", alert_pending: "--warn" };
  function kindColor(kind) { return css(KIND_COLORS[kind] || (/^silence_/.test(kind || "") ? "--s4" : "--muted")); }

  function css(name) { return getComputedStyle(document.documentElement).getPropertyValue(name).trim(); }
  SG.seriesColor = function (i) { return css(COLORS[i % COLORS.length]); };

  function hasData(spec) {
    return spec && spec.timestamps && spec.timestamps.length > 0 && (spec.series || []).some(function (s) {
      return s.values.some(function (v) { return v !== null && v !== undefined && isFinite(v); });
    });
  }

  // events closer than `gap` canvas pixels share one marker: "first … last (n)"
  function clusters(u, events, gap) {
    var out = [];
    events.forEach(function (e) {
      var x = Math.round(u.valToPos(e.time, "x", true)), last = out[out.length - 1];
      if (last && x - last.x < gap) { last.items.push(e); } else { out.push({ x: x, items: [e] }); }
    });
    return out.map(function (c) {
      var n = c.items.length, first = c.items[0].label, end = c.items[n - 1].label.split(" ").pop();
      return { x: c.x, label: n === 1 ? first : first + " … " + end + " (" + n + ")", items: c.items,
        kind: c.items[0].kind || "rollout" };
    });
  }

  function drawMarks(u, spec) {
    var ctx = u.ctx, b = u.bbox, dpr = devicePixelRatio || 1;
    ctx.save();
    ctx.font = (11 * dpr) + "px system-ui, sans-serif";
    ctx.textAlign = "left"; ctx.textBaseline = "alphabetic";
    (spec.thresholds || []).forEach(function (t) {
      var y = Math.round(u.valToPos(t.value, "y", true));
      if (y < b.top || y > b.top + b.height) return;
      ctx.strokeStyle = css("--bad"); ctx.fillStyle = css("--bad"); ctx.setLineDash([6 * dpr, 4 * dpr]); ctx.lineWidth = dpr;
      ctx.beginPath(); ctx.moveTo(b.left, y); ctx.lineTo(b.left + b.width, y); ctx.stroke();
      ctx.fillText(t.label, b.left + 4 * dpr, y - 3 * dpr);
    });
    var drawn = [], kinds = {};
    clusters(u, spec.events || [], 8 * dpr).forEach(function (c, i) {
      var x = c.x;
      if (x < b.left || x > b.left + b.width) return;
      drawn.push(c); c.items.forEach(function (e) { kinds[e.kind || "rollout"] = true; });
      ctx.strokeStyle = kindColor(c.kind); ctx.fillStyle = css("--fg"); ctx.setLineDash([2 * dpr, 3 * dpr]); ctx.lineWidth = 1.5 * dpr;
      ctx.beginPath(); ctx.moveTo(x, b.top); ctx.lineTo(x, b.top + b.height); ctx.stroke();
      ctx.fillText(c.label, Math.max(b.left, Math.min(x + 3 * dpr, b.left + b.width - ctx.measureText(c.label).width - 4 * dpr)), b.top + (12 + 12 * (i % 3)) * dpr);
    });
    ctx.restore();
    u._sgMarks = drawn;
    var el = u.root.parentNode;
    el.dataset.marks = Object.keys(kinds).sort().join(" ");
    el.dataset.markX = drawn.map(function (c) { return Math.round((c.x - b.left) / dpr); }).join(" ");
  }

  // hovering within 5 px of a marker names its events (time, label, message) in the plot's tooltip
  function markTip(u) {
    var dpr = devicePixelRatio || 1, left = u.cursor.left, near = null;
    if (left == null || left < 0) { u.over.title = ""; return; }
    (u._sgMarks || []).forEach(function (c) {
      if (Math.abs((c.x - u.bbox.left) / dpr - left) <= 5) near = c;
    });
    u.over.title = near ? near.items.map(function (e) {
      return new Date(e.time * 1000).toLocaleString() + ": " + e.label + (e.message ? " " + e.message : "");
    }).join("\n") : "";
  }

  function options(el, spec) {
    var yf = spec.yFormat || function (v) { return v == null ? "-" : +v.toPrecision(4) + ""; };
    return {
      width: Math.max(el.clientWidth, 200), height: spec.height || SG.CHART_HEIGHT,
      series: [{}].concat(spec.series.map(function (s, i) {
        return { label: s.label, stroke: SG.seriesColor(i), width: 1.5, dash: s.dash ? [6, 4] : undefined,
          fill: s.fill ? SG.seriesColor(i) + "33" : undefined, spanGaps: false,
          value: function (u, v, si, j) {
            var cur = u._sgSpec && u._sgSpec.series[si - 1];
            return yf(cur && cur.raw && j != null ? cur.raw[j] : v);
          } };
      })),
      scales: { x: { time: true, range: function (u, min, max) {  // spec.xRange: the whole asked range, not the data's
        var r = u._sgSpec && u._sgSpec.xRange; return r ? [Math.min(r[0], min), Math.max(r[1], max)] : [min, max]; } },
        y: spec.yRange ? { range: function (u, min, max) {
        return [Math.min(spec.yRange[0], min), Math.max(spec.yRange[1], max)]; } } : {} },
      axes: [{ stroke: css("--muted"), grid: { stroke: css("--line") }, ticks: { stroke: css("--line") } },
        { stroke: css("--muted"), grid: { stroke: css("--line") }, ticks: { stroke: css("--line") }, size: 76,
          values: function (u, vals) { return vals.map(yf); } }],
      cursor: { drag: { x: true, y: false, setScale: !spec.onSelect } },
      hooks: { draw: [function (u) { drawMarks(u, u._sgSpec); }], setCursor: [markTip], setSelect: [function (u) {
        var sel = u.select, cb = u._sgSpec.onSelect;
        if (cb && sel.width > 4) cb(u.posToVal(sel.left, "x"), u.posToVal(sel.left + sel.width, "x"));
      }] },
    };
  }

  // the plot's height is fixed and the legend keeps its rows on refresh, so new data never moves the page
  SG.CHART_HEIGHT = window.matchMedia("(max-width: 600px)").matches ? 180 : 220;
  function fit(u, el) { u.setSize({ width: Math.max(el.clientWidth, 200), height: (u._sgSpec && u._sgSpec.height) || SG.CHART_HEIGHT }); }

  SG.chart = function (el, spec) {
    var handle = { plot: null, spec: null };
    handle.update = function (next) {
      handle.spec = next;
      if (!hasData(next)) {
        if (handle.plot) { handle.plot.destroy(); handle.plot = null; }
        el.innerHTML = '<div class="nodata" role="img" aria-label="no data">No data in this range</div>';
        el.dataset.state = "nodata"; el.dataset.series = "0"; el.dataset.marks = ""; el.dataset.markX = "";
        return handle;
      }
      var data = [next.timestamps].concat(next.series.map(function (s) { return s.values; }));
      var same = handle.plot && handle.plot.series.length === next.series.length + 1;
      if (same) { handle.plot._sgSpec = next; handle.plot.setData(data); }
      else {
        if (handle.plot) handle.plot.destroy();
        el.innerHTML = "";
        handle.plot = new uPlot(options(el, next), data, el);
        handle.plot._sgSpec = next;
      }
      el.dataset.state = "chart"; el.dataset.series = String(next.series.length);
      return handle;
    };
    var timer;
    window.addEventListener("resize", function () {
      clearTimeout(timer);
      timer = setTimeout(function () { if (handle.plot) fit(handle.plot, el); }, 150);
    });
    return handle.update(spec);
  };
})();
