/* SG.tableTools(table, form): sort a table in place from its header links (th[data-key], cells'
 * data-value) and filter its rows from the form's search box; the URL's q/sort/dir follow, so a
 * reload, a deep link and SG.refreshRegions give the same view. Without this script the links
 * and the form ask the server for the same thing. */
(function () {
  "use strict";
  var SG = window.SG;

  function cellValue(row, index) {
    var cell = row.cells[index];
    var v = cell ? cell.getAttribute("data-value") : "";
    if (v === null || v === "") return { empty: true, v: "" };
    var n = Number(v);
    return { empty: false, v: isNaN(n) ? v.toLowerCase() : n };
  }

  function compare(a, b) {
    return a.v < b.v ? -1 : a.v > b.v ? 1 : 0;
  }

  SG.tableTools = function (table, form) {
    var state = { q: "", sort: "rank", dir: "asc" };
    var params = new URLSearchParams(location.search);
    ["q", "sort", "dir"].forEach(function (k) { if (params.get(k)) state[k] = params.get(k); });
    var input = form ? form.querySelector("input[type=search]") : null;
    var count = form ? form.querySelector("[data-count]") : null;

    function syncUrl() {
      var p = new URLSearchParams(location.search);
      ["q", "sort", "dir"].forEach(function (k) { if (state[k] && state[k] !== (k === "sort" ? "rank" : k === "dir" ? "asc" : "")) p.set(k, state[k]); else p.delete(k); });
      var qs = p.toString();
      history.replaceState(null, "", location.pathname + (qs ? "?" + qs : ""));
      if (form) { form.elements.sort.value = state.sort; form.elements.dir.value = state.dir; }
    }

    function apply() {
      var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows).filter(function (r) { return r.hasAttribute("data-rank"); });
      var ths = Array.prototype.slice.call(table.tHead.rows[0].cells);
      var index = ths.findIndex(function (th) { return th.getAttribute("data-key") === state.sort; });
      rows.sort(function (a, b) {
        if (index < 0) return Number(a.getAttribute("data-rank")) - Number(b.getAttribute("data-rank"));
        var x = cellValue(a, index), y = cellValue(b, index);
        if (x.empty !== y.empty) return x.empty ? 1 : -1;  // rows without a value stay last either way
        var c = compare(x, y);
        return state.dir === "desc" ? -c : c;
      });
      var words = state.q.toLowerCase().split(/\s+/).filter(Boolean), shown = 0;
      rows.forEach(function (r) {
        var text = r.textContent.toLowerCase();
        r.hidden = !words.every(function (w) { return text.indexOf(w) >= 0; });
        if (!r.hidden) shown++;
        body.appendChild(r);
      });
      ths.forEach(function (th, i) {
        if (i === index) th.setAttribute("aria-sort", state.dir === "desc" ? "descending" : "ascending");
        else th.removeAttribute("aria-sort");
      });
      if (count) count.textContent = shown + " of " + rows.length + " shown";
    }

    table.tHead.addEventListener("click", function (ev) {
      var a = ev.target.closest("th[data-key] a");
      if (!a) return;
      ev.preventDefault();
      var key = a.parentElement.getAttribute("data-key");
      state.dir = state.sort === key && state.dir === "asc" ? "desc" : "asc";
      state.sort = key;
      apply(); syncUrl();
    });
    if (form && input) {
      form.addEventListener("submit", function (ev) { ev.preventDefault(); state.q = input.value; apply(); syncUrl(); });
      input.addEventListener("input", function () { state.q = input.value; apply(); syncUrl(); });
    }
    table.addEventListener("sg:refreshed", apply);
    return { apply: apply, state: state };
  };
})();
