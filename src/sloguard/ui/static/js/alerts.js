/* Alerts and silences: the [data-live] regions (groups, silence lists) refreshed every few seconds. */
(function () {
  "use strict";
  SG.live(SG.refreshRegions);
})();
