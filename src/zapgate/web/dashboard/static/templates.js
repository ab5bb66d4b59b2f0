// The template editor, progressively enhanced: show only the fields a header or button type
// uses, reveal more button slots, and mark fields invalid when the live preview reports it.
// Without this script every field is visible and saving still works.
(function () {
  "use strict";
  function syncTyped(group) {
    var select = group.querySelector("[data-type]");
    if (!select) return;
    group.querySelectorAll("[data-for]").forEach(function (field) {
      field.hidden = field.getAttribute("data-for").split(" ").indexOf(select.value) < 0;
    });
  }
  function syncInvalid(form) {
    form.querySelectorAll(".field").forEach(function (field) {
      var error = field.querySelector(".error");
      var control = field.querySelector("input, select, textarea");
      var bad = !!(error && error.textContent.trim());
      field.classList.toggle("invalid", bad);
      if (control) { if (bad) control.setAttribute("aria-invalid", "true"); else control.removeAttribute("aria-invalid"); }
    });
  }
  function addButtonSlots(form) {
    var add = form.querySelector("#add-button");
    if (!add) return;
    function hiddenSlots() { return form.querySelectorAll("[data-slot][hidden]"); }
    add.hidden = hiddenSlots().length === 0;
    add.addEventListener("click", function () {
      var next = hiddenSlots()[0];
      if (!next) return;
      next.hidden = false;
      next.querySelector("select").focus();
      add.hidden = hiddenSlots().length === 0;
    });
  }
  function init() {
    var form = document.getElementById("template-form");
    if (!form) return;
    form.querySelectorAll("[data-typed]").forEach(function (group) {
      syncTyped(group);
      group.querySelector("[data-type]").addEventListener("change", function () { syncTyped(group); });
    });
    addButtonSlots(form);
    document.body.addEventListener("htmx:afterSettle", function () { syncInvalid(form); });
  }
  document.addEventListener("DOMContentLoaded", init);
})();
