// Write / Preview tabs for Markdown fields (templates/core/platform/_markdown_editor.html).
// The preview HTML comes from the server through htmx; this only switches tabs.
(function () {
  "use strict";

  function show(editor, tab) {
    var write = editor.querySelector("[data-md-write]");
    var preview = editor.querySelector("[data-md-preview]");
    editor.querySelectorAll("[data-md-tab]").forEach(function (button) {
      var active = button.getAttribute("data-md-tab") === tab;
      button.classList.toggle("active", active);
      button.setAttribute("aria-pressed", active ? "true" : "false");
    });
    write.hidden = tab !== "write";
    preview.hidden = tab !== "preview";
    if (tab === "write") {
      var input = write.querySelector("textarea");
      if (input) {
        input.focus();
      }
    }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-md-tab]");
    if (!button) {
      return;
    }
    var editor = button.closest("[data-md-editor]");
    if (editor) {
      show(editor, button.getAttribute("data-md-tab"));
    }
  });
})();
