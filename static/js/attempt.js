// The attempt page's discussion (templates/core/reviews/attempt_detail.html).
// Polling and posting are plain htmx attributes; this adds Ctrl+Enter to send,
// drops a message a poll and a post both delivered, and keeps focus in the box.
(function () {
  "use strict";

  var posted = false;

  document.addEventListener("keydown", function (event) {
    var box = event.target;
    if (event.key !== "Enter" || !(event.ctrlKey || event.metaKey)) {
      return;
    }
    if (box.matches && box.matches("[data-comment-body]") && box.form) {
      event.preventDefault();
      box.form.requestSubmit();
    }
  });

  document.addEventListener("htmx:beforeRequest", function (event) {
    if (event.detail.elt && event.detail.elt.id === "comment-form") {
      posted = true;
    }
  });

  document.addEventListener("htmx:afterSettle", function () {
    var list = document.getElementById("comment-list");
    if (!list) {
      return;
    }
    var seen = {};
    list.querySelectorAll(":scope > li.comment").forEach(function (item) {
      if (seen[item.id]) {
        item.remove();
      } else {
        seen[item.id] = true;
      }
    });
    if (posted) {
      posted = false;
      var box = document.querySelector("#comment-form [data-comment-body]");
      if (box && !box.value) {
        box.focus();
      }
    }
  });
})();
