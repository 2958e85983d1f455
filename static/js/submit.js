// The submit page (templates/core/reviews/submit.html). Loaded with `defer`; no inline scripts.
// Lists the chosen files with their sizes and flags the ones the server will refuse
// (the server checks everything again: this only saves a pointless upload), and
// shows "Submitting…" so a second click is visibly unnecessary (the server's
// one-time token makes it harmless anyway).
(function () {
  "use strict";

  var MB = 1024 * 1024;

  function formatSize(bytes) {
    if (bytes < MB) {
      return Math.max(1, Math.round(bytes / 1024)) + " KB";
    }
    return (bytes / MB).toFixed(1) + " MB";
  }

  function item(text, problem) {
    var li = document.createElement("li");
    if (problem) {
      li.className = "text-danger";
      var icon = document.createElement("i");
      icon.className = "bi bi-exclamation-circle me-1";
      icon.setAttribute("aria-hidden", "true");
      li.appendChild(icon);
    }
    li.appendChild(document.createTextNode(text));
    return li;
  }

  function listFiles(input) {
    var list = input.closest("form").querySelector("[data-file-list]");
    if (!list) {
      return;
    }
    var maxFiles = parseInt(input.getAttribute("data-max-files"), 10);
    var maxMb = parseInt(input.getAttribute("data-max-mb"), 10);
    var files = Array.prototype.slice.call(input.files || []);
    list.replaceChildren();
    files.forEach(function (file) {
      var tooBig = maxMb && file.size > maxMb * MB;
      var text = file.name + " · " + formatSize(file.size);
      if (tooBig) {
        text += " — larger than " + maxMb + " MB, it will be refused";
      }
      list.appendChild(item(text, tooBig));
    });
    if (maxFiles && files.length > maxFiles) {
      list.appendChild(
        item(files.length + " files chosen: an iteration may have at most " + maxFiles + ".", true)
      );
    }
    list.hidden = files.length === 0;
  }

  // The server's verdict on the files sent before (a refused type, a file too big) is about
  // those files: once others are chosen it no longer applies, so it goes, with the reminder
  // to choose them again. The new choice is judged by listFiles, then by the server.
  function forgetRefusal(input) {
    var field = input.closest(".submit-attachments");
    if (!field) {
      return;
    }
    field.querySelectorAll(".invalid-feedback").forEach(function (error) {
      error.remove();
    });
    field.querySelectorAll(".is-invalid").forEach(function (marked) {
      marked.classList.remove("is-invalid");
    });
    field.querySelectorAll(".submit-files-again").forEach(function (hint) {
      hint.remove();
    });
    input.removeAttribute("aria-invalid");
    var describedBy = (input.getAttribute("aria-describedby") || "").split(/\s+/).filter(function (id) {
      return id && document.getElementById(id);
    });
    if (describedBy.length) {
      input.setAttribute("aria-describedby", describedBy.join(" "));
    } else {
      input.removeAttribute("aria-describedby");
    }
  }

  document.addEventListener("change", function (event) {
    var input = event.target;
    if (input.matches && input.matches("input[type=file][data-max-files]")) {
      forgetRefusal(input);
      listFiles(input);
    }
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("[data-submit-form]")) {
      return;
    }
    if (form.getAttribute("data-submitting")) {
      event.preventDefault();
      return;
    }
    form.setAttribute("data-submitting", "true");
    var button = form.querySelector("[data-submit-button]");
    if (button) {
      button.disabled = true;
      var label = button.querySelector("[data-submit-label]");
      if (label) {
        label.textContent = "Submitting…";
      }
    }
  });

  // Coming back with the browser's Back button restores the page as it was left.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("[data-submit-form][data-submitting]").forEach(function (form) {
      form.removeAttribute("data-submitting");
      var button = form.querySelector("[data-submit-button]");
      if (button) {
        button.disabled = false;
        var label = button.querySelector("[data-submit-label]");
        if (label && label.getAttribute("data-label")) {
          label.textContent = label.getAttribute("data-label");
        }
      }
    });
  });
})();
