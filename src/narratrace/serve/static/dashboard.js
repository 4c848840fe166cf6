// narratrace dashboard behaviour. The one script of the dashboard (the CSP allows no inline
// script). Ids come from data-* attributes; the DOM is only changed through textContent,
// classList and attributes — never innerHTML — so stored text can never become markup here.
"use strict";

(function () {
  function reviewGroup(btn) {
    return btn.closest("[data-review-group]");
  }

  async function sendReview(btn) {
    var d = btn.dataset;
    var body = { kind: d.kind, sentence_id: Number(d.sentenceId), verdict: d.verdict };
    if (d.narrative) body.narrative = d.narrative;
    if (d.otherSentenceId) body.other_sentence_id = Number(d.otherSentenceId);
    var group = reviewGroup(btn);
    var status = group && group.querySelector("[data-review-status]");
    var buttons = group ? group.querySelectorAll("button.review-btn") : [btn];
    buttons.forEach(function (b) { b.disabled = true; });
    try {
      var resp = await fetch("/api/reviews", {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-Narratrace": "1" },
        body: JSON.stringify(body)
      });
      if (!resp.ok) throw new Error("HTTP " + resp.status);
      buttons.forEach(function (b) {
        b.setAttribute("aria-pressed", b === btn ? "true" : "false");
      });
      if (status) status.textContent = d.verdict;
    } catch (err) {
      if (status) status.textContent = "not saved (" + err.message + ")";
    } finally {
      buttons.forEach(function (b) { b.disabled = false; });
    }
  }

  function setupReviews() {
    document.querySelectorAll("button.review-btn").forEach(function (btn) {
      btn.addEventListener("click", function () { sendReview(btn); });
    });
  }

  // Outlet network: clicking an outlet highlights its edges and the coordination groups it is in.
  function setupNetwork() {
    var svg = document.getElementById("network");
    if (!svg) return;
    var status = document.querySelector("[data-network-status]");
    var groups = document.querySelectorAll("article.group[data-outlets]");
    var selected = null;
    function apply() {
      svg.querySelectorAll(".node").forEach(function (n) {
        n.classList.toggle("hl", n.dataset.outlet === selected);
      });
      svg.querySelectorAll(".edge").forEach(function (e) {
        e.classList.toggle("hl", selected !== null && (e.dataset.a === selected || e.dataset.b === selected));
      });
      var count = 0;
      groups.forEach(function (g) {
        var inIt = selected !== null && g.dataset.outlets.split(" ").indexOf(selected) >= 0;
        if (inIt) count += 1;
        g.classList.toggle("hl", inIt);
        g.classList.toggle("dim", selected !== null && !inIt);
      });
      if (status) {
        status.textContent = selected === null ? "No outlet selected."
          : selected + ": in " + count + " coordination group(s), highlighted below.";
      }
    }
    svg.querySelectorAll(".node").forEach(function (n) {
      n.addEventListener("click", function (ev) {
        ev.preventDefault();
        selected = selected === n.dataset.outlet ? null : n.dataset.outlet;
        apply();
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    setupReviews();
    setupNetwork();
  });
})();
