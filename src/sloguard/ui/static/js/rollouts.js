/* Rollouts list: the table's rows refreshed in place every few seconds. */
(function () {
  "use strict";
  SG.live(SG.refreshRegions);
})();
