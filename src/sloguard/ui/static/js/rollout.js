/* One rollout: the weight chart and one chart per measured metric from the embedded data;
 * the command buttons POST to /api/v1/rollouts/{name}/{action} (the CLI's API) with the
 * actor (the signed-in user, else the name typed here, kept in localStorage), show the
 * API's answer or error sentence in place, and are enabled as the phase allows. The page's
 * data regions are re-read every few seconds and the charts updated in place. */
(function () {
  "use strict";
  var ACTOR_KEY = "sloguard.actor";
  var form = document.getElementById("rollout-actions");
  var dialog = document.getElementById("confirm-dialog");
  var result = document.getElementById("action-result");
  var actorInput = document.getElementById("actor");
  var charts = {}, busy = false;

  function read() { return JSON.parse(document.getElementById("rollout-data").textContent); }

  function pctFormat(v) { return v == null ? "-" : Math.round(v) + "%"; }

  function metricFigure(c) {
    var fig = document.querySelector('[data-chart-for="' + c.id + '"]');
    if (fig) return fig.querySelector("[data-chart]");
    fig = document.createElement("figure");
    fig.className = "chart"; fig.setAttribute("data-chart-for", c.id);
    var h = document.createElement("h3"), span = document.createElement("span"), plot = document.createElement("div");
    h.textContent = c.analysis + " · " + c.metric + " ";
    span.className = "muted"; span.textContent = c.label; h.appendChild(span);
    plot.className = "plot"; plot.setAttribute("data-chart", c.id); plot.setAttribute("role", "img");
    plot.setAttribute("aria-label", c.metric + " " + c.label + " over time");
    fig.appendChild(h); fig.appendChild(plot);
    document.getElementById("rollout-charts").appendChild(fig);
    return plot;
  }

  function metricSpec(c) {
    var spec = { timestamps: c.timestamps, series: [{ label: c.label, values: c.values }] };
    if (c.threshold != null) {
      spec.thresholds = [{ value: c.threshold, label: (c.label === "p-value" ? "alpha " : "bound ") + (+c.threshold.toPrecision(3)) }];
    }
    if (c.label === "p-value") spec.yRange = [0, 1];
    return spec;
  }

  function draw() {
    var d = read(), w = d.weights;
    var wspec = { timestamps: w.timestamps, series: [{ label: "canary weight", values: w.values }], yRange: [0, 100], yFormat: pctFormat };
    var wel = document.querySelector('[data-chart="weights"]');
    charts.weights = charts.weights ? charts.weights.update(wspec) : SG.chart(wel, wspec);
    drawTraffic(d.traffic);
    d.charts.forEach(function (c) {
      charts[c.id] = charts[c.id] ? charts[c.id].update(metricSpec(c)) : SG.chart(metricFigure(c), metricSpec(c));
    });
  }

  /* The requests each version answered, from the API's query_range over the proxy's metrics. */
  function drawTraffic(t) {
    var el = document.querySelector('[data-chart="traffic"]'), err = document.querySelector("[data-traffic-error]");
    var url = "/api/v1/query_range?" + new URLSearchParams({ query: t.query, start: t.start, end: t.end, step: t.step });
    return SG.getJSON(url).then(function (data) {
      var spec = SG.fromMatrix(data.result);
      spec.series.forEach(function (s, i) { s.label = (data.result[i].metric || {}).version || s.label; });
      spec.yFormat = function (v) { return v == null ? "-" : +v.toPrecision(3) + "/s"; };
      err.textContent = "";
      charts.traffic = charts.traffic ? charts.traffic.update(spec) : SG.chart(el, spec);
    }, function (e) {
      err.textContent = "The proxy's metrics could not be read: " + e.message;
      charts.traffic = charts.traffic ? charts.traffic.update({ timestamps: [], series: [] }) : SG.chart(el, { timestamps: [], series: [] });
    });
  }

  function enable() {
    var allowed = read().allowed;
    form.querySelectorAll("button[data-action]").forEach(function (b) { b.disabled = busy || !allowed[b.dataset.action]; });
  }

  function say(text, ok) {
    result.textContent = text;
    result.className = "result " + (ok ? "ok" : "error");
    result.setAttribute("role", ok ? "status" : "alert");
  }

  function actor() {
    if (!actorInput) return "";
    var name = actorInput.value.trim();
    if (name) localStorage.setItem(ACTOR_KEY, name);
    return name;
  }

  /* Resolves with {reason} or null when cancelled. */
  function ask(question, needsReason, confirmText) {
    return new Promise(function (resolve) {
      var f = dialog.querySelector("form"), reason = f.elements.reason, err = dialog.querySelector("[data-dialog-error]");
      dialog.querySelector("[data-question]").textContent = question;
      dialog.querySelector("[data-reason-label]").hidden = !needsReason;
      dialog.querySelector("[data-confirm]").textContent = confirmText;
      reason.value = ""; err.textContent = "";
      function done(ev) {
        if (dialog.returnValue === "confirm" && needsReason && !reason.value.trim()) {
          ev.preventDefault(); err.textContent = "Give a reason: it is recorded with the event."; dialog.showModal(); reason.focus(); return;
        }
        dialog.removeEventListener("close", done);
        resolve(dialog.returnValue === "confirm" ? { reason: reason.value.trim() } : null);
      }
      dialog.addEventListener("close", done);
      dialog.returnValue = "";
      dialog.showModal();
      (needsReason ? reason : dialog.querySelector("[data-confirm]")).focus();
    });
  }

  var QUESTIONS = {
    "promote-full": ["Promote fully? Every remaining step is skipped and the canary takes all traffic.", false, "Promote fully"],
    pause: ["Pause the rollout where it is until someone resumes it?", true, "Pause"],
    abort: ["Abort the rollout? All traffic goes back to the stable version at once.", true, "Abort rollout"],
  };

  function post(action, body) {
    var path = action === "promote-full" ? "promote" : action;
    if (action === "promote-full") body.full = true;
    return fetch(form.dataset.api + "/" + path, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json" }, body: JSON.stringify(body),
    }).then(function (r) {
      return r.json().catch(function () { throw new Error("The server answered " + r.status + " without JSON."); });
    }).then(function (env) {
      if (!env || env.status !== "success") throw new Error((env && env.error) || "The server refused the command.");
      return env.data;
    });
  }

  function run(action, label) {
    var who = actor();
    if (actorInput && !who) { say("Type your name first: it is recorded with the command.", false); actorInput.focus(); return; }
    var q = QUESTIONS[action];
    var asked = q ? ask(q[0], q[1], q[2]) : Promise.resolve({ reason: "" });
    asked.then(function (answer) {
      if (!answer) return;
      busy = true; enable(); say(label + "…", true);
      var body = { actor: who };
      if (answer.reason) body.reason = answer.reason;
      return post(action, body).then(function (view) {
        say(label + " done: the rollout is " + view.phase + (view.message ? ". " + view.message : "."), true);
      }, function (e) { say(e.message, false); }).then(function () {
        busy = false;
        return SG.refreshRegions();
      }).then(enable, enable);
    });
  }

  if (actorInput) {
    actorInput.value = localStorage.getItem(ACTOR_KEY) || "";
    actorInput.addEventListener("change", actor);
  }
  form.addEventListener("submit", function (ev) { ev.preventDefault(); });  // Enter in the name box sends nothing
  form.addEventListener("click", function (ev) {
    var b = ev.target.closest("button[data-action]");
    if (b && !b.disabled) run(b.dataset.action, b.textContent.replace("…", "").trim());
  });
  document.addEventListener("sg:refreshed", function (ev) {
    if (ev.target.id === "rollout-data-wrap") { draw(); enable(); }
  });
  draw();
  SG.live(SG.refreshRegions);
})();
