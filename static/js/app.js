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

// Countdowns: <time data-countdown datetime="…">2 days 4 hours left</time> is
// rendered by the server (core/platform/timefmt.py) and ticks here with the same wording.
(function () {
  "use strict";

  function plural(count, word) {
    return count + " " + word + (count === 1 ? "" : "s");
  }

  function timeLeft(deadline, now) {
    var seconds = Math.floor((deadline - now) / 1000);
    if (seconds <= 0) {
      return "deadline passed";
    }
    var days = Math.floor(seconds / 86400);
    var hours = Math.floor((seconds % 86400) / 3600);
    var minutes = Math.floor((seconds % 3600) / 60);
    var text;
    if (days) {
      text = plural(days, "day") + (hours ? " " + plural(hours, "hour") : "");
    } else if (hours) {
      text = plural(hours, "hour") + (minutes ? " " + plural(minutes, "minute") : "");
    } else if (minutes) {
      text = plural(minutes, "minute");
    } else {
      return "less than a minute left";
    }
    return text + " left";
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll("time[data-countdown]").forEach(function (el) {
      var deadline = Date.parse(el.getAttribute("datetime"));
      if (!isNaN(deadline)) {
        var text = timeLeft(deadline, now);
        if (el.textContent !== text) {
          el.textContent = text;
        }
        el.classList.toggle("countdown-soon", deadline - now < 86400000 && deadline > now);
      }
    });
  }

  document.addEventListener("DOMContentLoaded", tick);
  document.addEventListener("htmx:afterSettle", tick);
  window.setInterval(tick, 15000);
})();
