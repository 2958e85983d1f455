// Review queue keyboard: j/k move between rows, Enter opens, c claims.
// Loaded with `defer` by templates/core/reviews/review_queue.html; no inline scripts (strict CSP).
(function () {
  "use strict";

  var FOCUS_CLASS = "is-focused";
  var focusedId = null; // the iteration id of the highlighted row, kept across HTMX swaps
  var tableHadFocus = false;

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("[data-queue-row]"));
  }

  function current() {
    return focusedId === null
      ? null
      : document.querySelector('[data-queue-row][data-iteration="' + focusedId + '"]');
  }

  function highlight(row, moveFocus) {
    rows().forEach(function (other) {
      var on = other === row;
      other.classList.toggle(FOCUS_CLASS, on);
      other.setAttribute("aria-selected", on ? "true" : "false");
      other.tabIndex = on ? 0 : -1;
    });
    focusedId = row ? row.getAttribute("data-iteration") : null;
    if (row && moveFocus) {
      row.focus({ preventScroll: true });
      row.scrollIntoView({ block: "nearest" });
    }
  }

  function move(step) {
    var all = rows();
    if (!all.length) {
      return;
    }
    var index = all.indexOf(current());
    var next = index === -1 ? (step > 0 ? 0 : all.length - 1) : index + step;
    next = Math.max(0, Math.min(all.length - 1, next));
    highlight(all[next], true);
  }

  function isTyping(target) {
    if (!target || !target.tagName) {
      return false;
    }
    var tag = target.tagName.toLowerCase();
    return tag === "input" || tag === "select" || tag === "textarea" || target.isContentEditable;
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey) {
      return;
    }
    if (isTyping(event.target) || !document.querySelector("[data-queue]")) {
      return;
    }
    var row = current();
    if (event.key === "j") {
      event.preventDefault();
      move(1);
    } else if (event.key === "k") {
      event.preventDefault();
      move(-1);
    } else if (event.key === "Enter" && row && (event.target === row || event.target === document.body)) {
      // Enter on a button or link inside the row keeps its own meaning.
      var link = row.querySelector("[data-queue-open]");
      if (link) {
        event.preventDefault();
        window.location.assign(link.href);
      }
    } else if (event.key === "c" && row) {
      var form = row.querySelector("form[data-queue-claim]");
      if (form) {
        event.preventDefault();
        form.requestSubmit();
      }
    }
  });

  // A click anywhere in a row highlights it, so the keys continue from there.
  document.addEventListener("click", function (event) {
    var row = event.target.closest && event.target.closest("[data-queue-row]");
    if (row) {
      highlight(row, false);
    }
  });

  // The table is replaced by HTMX (filters, pages, the 30-second refresh):
  // remember whether the keyboard was in it, then restore the highlight.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail && event.detail.target;
    if (target && target.id === "queue-table") {
      tableHadFocus = target.contains(document.activeElement);
    }
  });

  document.addEventListener("htmx:afterSettle", function () {
    if (!document.querySelector("[data-queue]")) {
      return;
    }
    var row = current();
    highlight(row, Boolean(row) && tableHadFocus);
    tableHadFocus = false;
  });
})();
