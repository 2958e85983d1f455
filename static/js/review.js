// Review page: one click of "Submit review" or "Save draft" sends one request.
// The server records one review anyway; this spares the second round trip.
// Loaded with `defer` by templates/core/reviews/review_detail.html (strict CSP: no inline
// scripts).
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

  // The checks finished while the page was open (its poll swapped each task's checks in):
  // tasks the checks pre-fill get their verdict, unless the mentor has chosen one already.
  document.addEventListener("htmx:oobAfterSwap", function (event) {
    var block = event.detail.target;
    if (!block || !block.matches || !block.matches("[data-prefill][data-checks-passed]")) {
      return;
    }
    var taskId = block.id.replace("review-task-checks-", "");
    var radios = document.querySelectorAll('input[name="task_' + taskId + '_passed"]');
    var chosen = Array.prototype.some.call(radios, function (radio) { return radio.checked; });
    if (chosen) {
      return;
    }
    radios.forEach(function (radio) {
      if (radio.value === block.getAttribute("data-checks-passed") && !radio.disabled) {
        radio.checked = true;
      }
    });
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
