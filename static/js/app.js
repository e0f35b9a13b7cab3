/* Portal behaviour that htmx does not cover. No inline scripts: the CSP forbids them. */
(function () {
  "use strict";
  // htmx does not swap 4xx/5xx answers; our error handler returns a fragment for htmx
  // requests (templates/errors/_error.html): show it in the flash area.
  document.addEventListener("htmx:responseError", function (evt) {
    var flash = document.getElementById("flash");
    if (!flash) return;
    var xhr = evt.detail.xhr;
    var type = xhr.getResponseHeader("Content-Type") || "";
    if (type.indexOf("text/html") === 0 && xhr.responseText.length < 4000) {
      flash.innerHTML = xhr.responseText;
    } else {
      flash.textContent = "Error " + xhr.status;
    }
  });
  document.addEventListener("htmx:sendError", function () {
    var flash = document.getElementById("flash");
    if (flash) {
      flash.innerHTML = '<div class="flash flash-error" role="alert"></div>';
      flash.firstChild.textContent = document.documentElement.lang === "en"
        ? "The portal cannot be reached. Check your connection and try again."
        : "No se puede contactar el portal. Revise su conexión e intente de nuevo.";
    }
  });
  // Narrow screens: the navigation opens and closes behind the "Menú" button (CSS hides it).
  document.addEventListener("click", function (evt) {
    var toggle = evt.target.closest ? evt.target.closest(".nav-toggle") : null;
    if (!toggle) return;
    var open = toggle.closest(".topbar").classList.toggle("nav-open");
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
  });
})();
