/* Overview: in-place sort and filter, and the rows refreshed every few seconds. */
(function () {
  "use strict";
  var table = document.getElementById("slo-table");
  if (table) SG.tableTools(table, document.querySelector("form[data-filter-for=slo-table]"));
  SG.live(SG.refreshRegions);
})();
