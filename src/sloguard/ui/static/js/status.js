/* Targets, Rules and Status: their [data-live] regions are re-read every few seconds in place. */
(function () {
  "use strict";
  if (document.querySelector("[data-live][id]")) window.SG.live(window.SG.refreshRegions);
})();
