/* Explore (/graph). The server runs each panel's query through the API and answers a page;
 * this script sends the form with fetch and swaps the panels in place, so a bad query is an
 * error shown in its panel (never a failed request), and keeps the URL on Prometheus' g0.*
 * parameters (pushState: Back works, a reload or a shared link reopens the view).
 * Enter in the expression runs it, Shift+Enter adds a line; range, end, step and stacked apply
 * on change. Charts are drawn from each graph panel's embedded range-query result; while a
 * panel's end is "now", results are re-read every 15 s and the charts updated in place. Dragging
 * across a chart zooms: the selection becomes the panel's range and end. */
(function () {
  "use strict";
  var SG = window.SG, form = document.getElementById("explore");
  if (!form) return;
  var timer = null, pending = null;

  function stack(spec) {
    var acc = spec.timestamps.map(function () { return 0; });
    spec.series = spec.series.map(function (s) {
      var values = s.values.map(function (v, j) { if (v === null) return null; acc[j] += v; return acc[j]; });
      return { label: s.label, values: values, raw: s.values, fill: true };
    });
    return spec;
  }

  function draw() {
    form.querySelectorAll("[data-plot]").forEach(function (el) {
      var script = document.getElementById("p" + el.dataset.plot + "-data");
      if (!script) return;
      var data = JSON.parse(script.textContent), m = SG.fromMatrix(data.result);
      var spec = { timestamps: m.timestamps, series: m.series, height: SG.CHART_HEIGHT < 200 ? 220 : 340,
        xRange: [data.start, data.end], onSelect: function (start, end) { zoom(el.dataset.plot, start, end); } };
      if (data.stacked) stack(spec);
      if (el._sgChart) el._sgChart.update(spec); else el._sgChart = SG.chart(el, spec);
    });
  }

  // a range dragged on a chart becomes the panel's range and end (the server writes them back canonical)
  function zoom(i, start, end) {
    form.elements["g" + i + ".range_input"].value = Math.max(Math.round(end - start), 1) + "s";
    form.elements["g" + i + ".end_input"].value = String(Math.round(end));
    send(null);
  }

  // an expression box grows with its text (long queries wrap on a phone)
  function fitBox(box) { box.style.height = "auto"; box.style.height = (box.scrollHeight + 2) + "px"; }
  function fitBoxes() { form.querySelectorAll("textarea[data-expr]").forEach(fitBox); }

  function setLive() {
    if (timer) clearInterval(timer);
    timer = null;
    var seconds = Number(form.dataset.livePeriod);
    if (seconds > 0) timer = SG.live(refresh, seconds);
  }

  // the live tick: re-read this view and swap the panels' results; dropped if the user asked
  // for another view meanwhile (a late answer must not overwrite a newer one)
  function refresh() {
    var url = location.pathname + location.search;
    return fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } }).then(function (r) {
      if (!r.ok) throw new Error("the page answered " + r.status);
      return r.text();
    }).then(function (html) {
      if (pending || url !== location.pathname + location.search) return;
      var doc = new DOMParser().parseFromString(html, "text/html");
      form.querySelectorAll(".panel-result[id]").forEach(function (el) {
        var fresh = doc.getElementById(el.id);
        if (fresh) { el.innerHTML = fresh.innerHTML; SG.formatTimes(el); }
      });
      draw();
    });
  }

  function focusState() {
    var el = document.activeElement;
    if (!el || !el.id || !form.contains(el)) return null;
    return { id: el.id, start: el.selectionStart, end: el.selectionEnd, fallback: el.dataset.focusFallback };
  }

  function restoreFocus(f) {
    if (!f) return;
    var el = document.getElementById(f.id) || (f.fallback && document.getElementById(f.fallback));
    if (!el) return;
    el.focus();
    if (el.id === f.id && typeof f.start === "number" && el.setSelectionRange) {
      try { el.setSelectionRange(f.start, f.end); } catch (e) { /* not a text field */ }
    }
  }

  function showProblem(text) {
    var box = document.getElementById("problems");
    box.innerHTML = "";
    var p = document.createElement("p");
    p.className = "notice error"; p.setAttribute("role", "alert"); p.textContent = text;
    box.appendChild(p);
  }

  function swap(html, push) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    var fresh = doc.getElementById("explore");
    if (!fresh) throw new Error("the answer is not the Explore page");
    var focus = focusState();
    document.getElementById("panels").innerHTML = fresh.querySelector("#panels").innerHTML;
    document.getElementById("problems").innerHTML = doc.getElementById("problems").innerHTML;
    form.dataset.canonical = fresh.dataset.canonical;
    form.dataset.livePeriod = fresh.dataset.livePeriod;
    if (push && fresh.dataset.canonical !== location.pathname + location.search) {
      history.pushState(null, "", fresh.dataset.canonical);
    } else {
      history.replaceState(null, "", fresh.dataset.canonical);
    }
    SG.formatTimes(form);
    fitBoxes();
    draw();
    restoreFocus(focus);
    setLive();
  }

  function load(url, push) {
    if (pending === url) return Promise.resolve();
    pending = url;
    form.setAttribute("aria-busy", "true");
    return fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } }).then(function (r) {
      if (!r.ok) throw new Error("the page answered " + r.status);
      return r.text();
    }).then(function (html) {
      if (pending === url) swap(html, push);
    }).catch(function (e) {
      showProblem("The query could not be sent: " + e.message);
    }).then(function () {
      if (pending === url) { pending = null; form.removeAttribute("aria-busy"); }
    });
  }

  function send(submitter) {
    var data = submitter ? new FormData(form, submitter) : new FormData(form);
    return load(form.getAttribute("action") + "?" + new URLSearchParams(data).toString(), true);
  }

  form.addEventListener("submit", function (ev) { ev.preventDefault(); send(ev.submitter); });
  form.addEventListener("keydown", function (ev) {
    if (ev.key !== "Enter" || ev.shiftKey || ev.isComposing || !ev.target.matches("textarea[data-expr]")) return;
    ev.preventDefault();
    send(null);
  });
  form.addEventListener("keydown", function (ev) {  // tabs: the arrow keys move between Table and Graph
    if ((ev.key !== "ArrowLeft" && ev.key !== "ArrowRight") || !ev.target.matches("[role=tab]")) return;
    var tabs = Array.prototype.slice.call(ev.target.parentElement.querySelectorAll("[role=tab]"));
    var next = tabs[(tabs.indexOf(ev.target) + (ev.key === "ArrowRight" ? 1 : tabs.length - 1)) % tabs.length];
    ev.preventDefault();
    next.focus();
  });
  form.addEventListener("input", function (ev) { if (ev.target.matches("textarea[data-expr]")) fitBox(ev.target); });
  form.addEventListener("change", function (ev) {
    if (ev.target.matches("[data-autosubmit]")) send(null);
  });
  window.addEventListener("popstate", function () { load(location.pathname + location.search, false); });

  history.replaceState(null, "", form.dataset.canonical);
  fitBoxes();
  draw();
  setLive();
})();
