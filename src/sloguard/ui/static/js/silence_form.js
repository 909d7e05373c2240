/* The silence form: Duration and Ends kept in step (typing one computes the other from
 * Starts), and each RFC 3339 time echoed in the browser's zone beside its field. The
 * server computes the same thing without this script (Ends wins; else Starts + Duration). */
(function () {
  "use strict";
  var form = document.querySelector("form.silence-form");
  if (!form) return;
  var starts = form.elements.startsAt, ends = form.elements.endsAt, dur = form.elements.duration;
  var UNITS = { y: 31536e6, w: 6048e5, d: 864e5, h: 36e5, m: 6e4, s: 1e3, ms: 1 };

  function parseDuration(text) {
    var m = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/.exec(text);
    if (!text || !m) return null;
    var keys = ["y", "w", "d", "h", "m", "s", "ms"], ms = 0;
    keys.forEach(function (k, i) { if (m[i + 1]) ms += Number(m[i + 1]) * UNITS[k]; });
    return ms;
  }

  function formatDuration(ms) {
    var out = "";
    ["d", "h", "m", "s"].forEach(function (k) {
      var n = Math.floor(ms / UNITS[k]);
      if (n > 0) { out += n + k; ms -= n * UNITS[k]; }
    });
    return out || "0s";
  }

  function parseTime(text) {
    if (!/(Z|[+-]\d\d:?\d\d)$/i.test(text)) return null;
    var d = new Date(text);
    return isNaN(d) ? null : d;
  }

  function startTime() { return starts.value.trim() ? parseTime(starts.value.trim()) : new Date(); }

  function rfc3339(d) { return d.toISOString().replace(/\.\d{3}Z$/, "Z"); }

  function echo() {
    form.querySelectorAll("[data-local-for]").forEach(function (el) {
      var input = document.getElementById(el.getAttribute("data-local-for"));
      var d = input && input.value.trim() ? parseTime(input.value.trim()) : null;
      el.textContent = d ? "(" + SG.formatTime(d) + ")" : "";
    });
  }

  dur.addEventListener("input", function () {
    var ms = parseDuration(dur.value.trim()), s = startTime();
    if (ms !== null && s) ends.value = rfc3339(new Date(s.getTime() + ms));
    echo();
  });
  ends.addEventListener("input", function () {
    var e = parseTime(ends.value.trim()), s = startTime();
    if (e && s && e > s) dur.value = formatDuration(e - s);
    echo();
  });
  starts.addEventListener("input", echo);
  if (!ends.value.trim()) {
    var ms = parseDuration(dur.value.trim()), s = startTime();
    if (ms !== null && s) ends.value = rfc3339(new Date(s.getTime() + ms));
  } else if (!dur.value.trim()) {
    var e = parseTime(ends.value.trim()), s2 = startTime();
    if (e && s2 && e > s2) dur.value = formatDuration(e - s2);
  }
  echo();
})();
