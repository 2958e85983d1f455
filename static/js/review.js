// Review page: one click of "Submit review" or "Save draft" sends one request.
// The server records one review anyway; this spares the second round trip.
// Loaded with `defer` by templates/core/review_detail.html (strict CSP: no inline scripts).
(function () {
  "use strict";

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("[data-review-form]")) {
      return;
    }
    if (form.hasAttribute("data-submitting")) {
      event.preventDefault();
      return;
    }
    form.setAttribute("data-submitting", "");
    var button = event.submitter;
    if (button) {
      // Disabled after the form data is built, so the button's action value is still sent.
      window.setTimeout(function () {
        button.setAttribute("aria-disabled", "true");
        button.classList.add("disabled");
      }, 0);
    }
  });

  // Coming back with the browser's back button: the form is usable again.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("[data-review-form][data-submitting]").forEach(function (form) {
      form.removeAttribute("data-submitting");
      form.querySelectorAll("button.disabled").forEach(function (button) {
        button.classList.remove("disabled");
        button.removeAttribute("aria-disabled");
      });
    });
  });
})();
