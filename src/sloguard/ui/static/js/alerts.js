/* Alerts and silences: the [data-live] regions (groups, silence lists) refreshed every few seconds;
 * an expire button sends the name typed in #actor (kept in localStorage, shared with the rollout
 * page) so the alert history records who expired the silence. */
(function () {
  "use strict";
  var ACTOR_KEY = "sloguard.actor", input = document.getElementById("actor");
  if (input) {
    input.value = localStorage.getItem(ACTOR_KEY) || "";
    input.addEventListener("change", function () {
      if (input.value.trim()) localStorage.setItem(ACTOR_KEY, input.value.trim());
    });
  }
  document.addEventListener("submit", function (ev) {
    var f = ev.target;
    if (input && f.matches && f.matches("form[data-expire]")) f.elements.actor.value = input.value.trim();
  });
  SG.live(SG.refreshRegions);
})();
