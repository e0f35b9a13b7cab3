/* cBox folder page: upload progress bar and tidy ⋯ menus. No inline scripts: the CSP forbids them. */
(function () {
  "use strict";
  function progressParts(form) {
    return {
      bar: form.querySelector(".cbox-progress"),
      text: form.querySelector(".cbox-progress-text")
    };
  }
  // htmx fires htmx:xhr:progress on the form while a multipart upload is sent (hx-encoding).
  document.addEventListener("htmx:xhr:progress", function (evt) {
    var form = evt.target.closest ? evt.target.closest("[data-upload-form]") : null;
    if (!form || !evt.detail.lengthComputable) return;
    var parts = progressParts(form);
    var percent = Math.round((evt.detail.loaded / evt.detail.total) * 100);
    parts.bar.hidden = false;
    parts.bar.value = percent;
    parts.text.textContent = percent + " %";
  });
  document.addEventListener("htmx:beforeRequest", function (evt) {
    var form = evt.target.closest ? evt.target.closest("[data-upload-form]") : null;
    if (!form) return;
    var parts = progressParts(form);
    parts.bar.hidden = false;
    parts.bar.value = 0;
    form.querySelector("button[type=submit]").disabled = true;
  });
  document.addEventListener("htmx:afterRequest", function (evt) {
    var form = evt.target.closest ? evt.target.closest("[data-upload-form]") : null;
    if (form) form.querySelector("button[type=submit]").disabled = false;
  });
  // Only one ⋯ menu open at a time; a click elsewhere or Escape closes it.
  document.addEventListener("click", function (evt) {
    document.querySelectorAll("details.cbox-menu[open]").forEach(function (menu) {
      if (!menu.contains(evt.target)) menu.removeAttribute("open");
    });
  });
  document.addEventListener("keydown", function (evt) {
    if (evt.key !== "Escape") return;
    document.querySelectorAll("details.cbox-menu[open]").forEach(function (menu) {
      menu.removeAttribute("open");
      menu.querySelector("summary").focus();
    });
  });
})();
/* Right-click on a row opens the same ⋯ menu as its button (issue 14); Shift+right-click keeps the
   browser's own menu. */
(function () {
  "use strict";
  document.addEventListener("contextmenu", function (evt) {
    if (evt.shiftKey || !evt.target.closest) return;
    var row = evt.target.closest("tr");
    var menu = row ? row.querySelector("details.cbox-menu") : null;
    if (!menu) return;
    evt.preventDefault();
    document.querySelectorAll("details.cbox-menu[open]").forEach(function (other) {
      if (other !== menu) other.removeAttribute("open");
    });
    menu.setAttribute("open", "");
    var first = menu.querySelector("[role=menuitem]");
    if (first) first.focus();
  });
})();
