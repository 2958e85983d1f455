// ProDev Hub behaviour. Loaded with `defer`; no inline scripts (strict CSP).
(function () {
  "use strict";

  // Move focus to the main landmark after an HTMX swap that replaced it, so
  // screen-reader users hear the new content.
  document.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail && event.detail.target;
    if (target && target.id === "main") {
      target.focus();
    }
  });
})();
