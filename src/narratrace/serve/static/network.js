// narratrace outlet network: a time slider over the spread network (Hoaxy's timeline, without a
// library). Served from /static like dashboard.js (the CSP allows no inline script). Edges and
// nodes carry data-t (epoch seconds, UTC): those after the slider's time get the class
// "net-later" (hidden by dashboard.css). Only classList, attributes and textContent are changed.
// Without this script the slider stays hidden and the full graph shows.
"use strict";

(function () {
  function isoMinute(t) {
    return new Date(t * 1000).toISOString().slice(0, 16).replace("T", " ") + " UTC";
  }

  function setup() {
    var svg = document.getElementById("network");
    var box = document.querySelector("[data-net-time]");
    if (!svg || !box) return;
    var slider = box.querySelector("input[type=range]");
    var when = box.querySelector("[data-net-when]");
    var play = box.querySelector("[data-net-play]");
    var timed = svg.querySelectorAll("[data-t]");
    var timer = null;

    function apply() {
      var now = Number(slider.value);
      var shown = 0;
      timed.forEach(function (el) {
        var later = Number(el.dataset.t) > now;
        el.classList.toggle("net-later", later);
        if (!later && el.classList.contains("edge")) shown += 1;
      });
      when.textContent = isoMinute(now) + " · " + shown + " arrow(s)";
    }

    function stop() {
      if (timer !== null) window.clearInterval(timer);
      timer = null;
      play.textContent = "play";
    }

    play.addEventListener("click", function () {
      if (timer !== null) { stop(); return; }
      var min = Number(slider.min), max = Number(slider.max);
      var step = Math.max(1, Math.ceil((max - min) / 60));  // about six seconds from start to end
      if (Number(slider.value) >= max) slider.value = String(min);
      play.textContent = "pause";
      timer = window.setInterval(function () {
        var next = Math.min(max, Number(slider.value) + step);
        slider.value = String(next);
        apply();
        if (next >= max) stop();
      }, 100);
    });
    slider.addEventListener("input", function () { stop(); apply(); });
    box.hidden = false;
    apply();
  }

  document.addEventListener("DOMContentLoaded", setup);
})();
