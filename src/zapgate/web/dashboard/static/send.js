// /send: show only the fields of the chosen mode. Without it every fieldset stays visible and
// the server uses the ones of the selected mode.
(function () {
  "use strict";
  function sync(mode) {
    document.querySelectorAll("[data-modes]").forEach(function (el) {
      el.hidden = el.getAttribute("data-modes").split(" ").indexOf(mode.value) < 0;
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var mode = document.getElementById("f-mode");
    if (!mode) return;
    mode.addEventListener("change", function () { sync(mode); });
    sync(mode);
  });
})();
