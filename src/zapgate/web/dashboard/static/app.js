// Progressive enhancement only: every page works without it.
(function () {
  "use strict";
  // Times are rendered in UTC; show them in the viewer's time zone.
  function localTimes(root) {
    root.querySelectorAll("time[data-local]").forEach(function (el) {
      var d = new Date(el.getAttribute("datetime"));
      if (!isNaN(d)) { el.textContent = d.toLocaleString(); el.title = el.getAttribute("datetime"); }
    });
  }
  // Copy buttons: <button data-copy="#id">.
  function copyButtons(root) {
    root.querySelectorAll("[data-copy]").forEach(function (btn) {
      if (btn.dataset.bound) return;
      btn.dataset.bound = "1";
      btn.addEventListener("click", function () {
        var target = document.querySelector(btn.getAttribute("data-copy"));
        if (!target) return;
        navigator.clipboard.writeText(target.textContent.trim()).then(function () {
          var label = btn.textContent; btn.textContent = "Copied"; setTimeout(function () { btn.textContent = label; }, 1500);
        });
      });
    });
  }
  function init(root) { localTimes(root); copyButtons(root); }
  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:afterSwap", function (e) { init(e.target); });
})();
