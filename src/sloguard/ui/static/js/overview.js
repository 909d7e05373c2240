/* Overview: in-place sort and filter (when every row is on the page; on a first page of the
 * worst rows the header links and the filter ask the server, which sees them all), and the
 * rows refreshed every few seconds. */
(function () {
  "use strict";
  var table = document.getElementById("slo-table");
  if (table && !table.hasAttribute("data-truncated")) {
    SG.tableTools(table, document.querySelector("form[data-filter-for=slo-table]"));
  }
  SG.live(SG.refreshRegions);
})();
