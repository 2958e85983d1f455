// Settings page: copy the private calendar link, confirm before resetting it.
// Loaded with `defer`; no inline scripts or handlers (strict CSP).
(function () {
  "use strict";

  var RESET_AFTER_MS = 2000;

  function announce(text) {
    var status = document.querySelector("[data-copy-status]");
    if (status) {
      status.textContent = text;
    }
  }

  function copyFrom(input) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(input.value);
    }
    // Plain-http development servers have no Clipboard API: select and copy.
    input.focus();
    input.select();
    var copied = false;
    try {
      copied = document.execCommand("copy");
    } catch (error) {
      copied = false;
    }
    return copied ? Promise.resolve() : Promise.reject(new Error("copy failed"));
  }

  document.querySelectorAll("[data-copy-target]").forEach(function (button) {
    var input = document.getElementById(button.getAttribute("data-copy-target"));
    var label = button.querySelector("[data-copy-label]");
    if (!input || !label) {
      return;
    }
    button.hidden = false;
    var original = label.textContent;
    var timer = null;

    button.addEventListener("click", function () {
      copyFrom(input).then(
        function () {
          label.textContent = "Copied";
          announce("Link copied to the clipboard.");
        },
        function () {
          input.focus();
          input.select();
          label.textContent = "Press Ctrl+C";
          announce("Copying failed: the link is selected, copy it with your keyboard.");
        }
      );
      window.clearTimeout(timer);
      timer = window.setTimeout(function () {
        label.textContent = original;
      }, RESET_AFTER_MS);
    });
  });

  // A click in the read-only link selects all of it.
  document.querySelectorAll("input[data-select-on-focus]").forEach(function (input) {
    input.addEventListener("focus", function () {
      input.select();
    });
  });

  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) {
        event.preventDefault();
      }
    });
  });
})();
