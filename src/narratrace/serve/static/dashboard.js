// narratrace dashboard behaviour. The one script of the dashboard (the CSP allows no inline
// script). Ids come from data-* attributes; the DOM is only changed through textContent,
// classList and attributes — never innerHTML — so stored text can never become markup here.
"use strict";

// Every write of the dashboard: the session cookie, the CSRF header, and the server's refusal
// (its "detail") as the error's message. Resolves to the response's JSON (null when none).
async function postJson(url, body) {
  var resp = await fetch(url, {
    method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-Narratrace": "1" },
    body: JSON.stringify(body)
  });
  var data = null;
  try { data = await resp.json(); } catch (e) { data = null; }
  if (!resp.ok) {
    var why = data && typeof data.detail === "string" ? data.detail : "HTTP " + resp.status;
    if (data && Array.isArray(data.detail) && data.detail.length) why = data.detail[0].msg || why;
    throw new Error(why);
  }
  return data;
}

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
      await postJson("/api/reviews", body);
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
      if (btn.closest("form[data-rq-review]")) return;  // a review-queue card: its form's handler sends it
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

// pages: the translation forms of the document page. POST /api/translations exactly as the review
// buttons post reviews (same-origin cookie + X-Narratrace: 1); the server's refusal (too long,
// viewer, unknown id) is shown as text. Stored text goes back into the page through textContent only.
(function () {
  async function saveTranslation(form) {
    var d = form.dataset;
    var group = form.closest("[data-translation-group]");
    var status = form.querySelector("[data-translation-status]");
    var area = form.querySelector("textarea");
    var button = form.querySelector("button");
    var body = { text: area.value, language: d.language || "en" };
    body[d.kind === "quote" ? "quote_id" : "sentence_id"] = Number(d.id);
    button.disabled = true;
    if (status) status.textContent = "saving…";
    try {
      var data = await postJson("/api/translations", body);
      if (group) {
        var shown = group.querySelector(".translation-text");
        var text = group.querySelector("[data-translation-text]");
        var by = group.querySelector("[data-translation-by]");
        if (text) text.textContent = data.text;
        if (by) by.textContent = "— translated by " + (data.translator || "unknown") + ", just now";
        if (shown) shown.hidden = false;
      }
      if (status) status.textContent = "saved";
    } catch (err) {
      if (status) status.textContent = "not saved: " + err.message;
    } finally {
      button.disabled = false;
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form.translate-form").forEach(function (form) {
      form.addEventListener("submit", function (ev) {
        ev.preventDefault();
        saveTranslation(form);
      });
    });
  });
})();

// review queue: a card's review form (contradictions, matches) is a real form that posts to
// /reviews without script; here it is sent to POST /api/reviews instead (same-origin cookie +
// X-Narratrace: 1, as the review buttons), so the page keeps its place. The server's refusal (a note
// or tags over the limit, a viewer) is shown as text; stored text goes in through textContent only.
(function () {
  function itemBody(item) {
    var p = item.split(":");
    if (p[0] === "c") return { kind: "contradiction", sentence_id: Number(p[1]), other_sentence_id: Number(p[2]) };
    return { kind: "match", sentence_id: Number(p[1]), narrative: p.slice(2).join(":") };
  }

  function tagList(raw) {
    return raw.split(",").map(function (t) { return t.trim(); }).filter(function (t) { return t.length > 0; });
  }

  async function sendReview(form, button) {
    var body = itemBody(form.dataset.item);
    body.verdict = button.value;
    var note = form.querySelector("textarea[name=note]");
    var tags = form.querySelector("input[name=tags]");
    body.note = note ? note.value : null;
    body.tags = tags ? tagList(tags.value) : null;
    var status = form.querySelector("[data-rq-status]");
    var buttons = form.querySelectorAll("button[name=verdict]");
    buttons.forEach(function (b) { b.disabled = true; });
    if (status) status.textContent = "saving…";
    try {
      var data = await postJson("/api/reviews", body);
      buttons.forEach(function (b) { b.setAttribute("aria-pressed", b === button ? "true" : "false"); });
      var card = form.closest("article");
      var meta = card && card.querySelector("[data-rq-meta]");
      if (meta) {
        meta.classList.remove("muted");
        meta.textContent = data.verdict + " by " + (data.reviewer || "unknown") + ", just now" +
          (data.tags && data.tags.length ? " · tags: " + data.tags.join(", ") : "");
      }
      if (status) status.textContent = "saved: " + data.verdict;
    } catch (err) {
      if (status) status.textContent = "not saved: " + err.message;
    } finally {
      buttons.forEach(function (b) { b.disabled = false; });
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-rq-review]").forEach(function (form) {
      form.addEventListener("submit", function (ev) {
        var button = ev.submitter;
        if (!button || button.name !== "verdict") return;  // no submitter (old browser): post the form
        ev.preventDefault();
        sendReview(form, button);
      });
    });
  });
})();
