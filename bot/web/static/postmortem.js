// The postmortem editor's live preview: the form's fields are sent (debounced) to the
// preview endpoint, which answers with HTML already sanitized on the server (nh3); without
// this script the Preview button does the same with a page load.
"use strict";

(function () {
  var DELAY_MS = 400;

  function start(form) {
    var target = document.getElementById(form.getAttribute("data-preview-target"));
    var state = document.getElementById("pm-preview-state");
    var url = form.getAttribute("data-preview-url");
    var tokenField = form.querySelector("input[name=csrf_token]");
    if (!target || !url || !tokenField) return;
    var timer = null;
    var sent = 0;

    function say(text) { if (state) state.textContent = text; }

    function refresh() {
      var ticket = ++sent;
      var body = new URLSearchParams(new FormData(form));
      body.delete("action");
      say("updating…");
      fetch(url, {
        method: "POST", credentials: "same-origin", body: body,
        headers: { "X-CSRF-Token": tokenField.value, "Content-Type": "application/x-www-form-urlencoded" }
      }).then(function (response) {
        return response.text().then(function (text) { return { ok: response.ok, text: text }; });
      }).then(function (answer) {
        if (ticket !== sent) return; // a later keystroke's answer is on its way
        if (answer.ok) {
          target.innerHTML = answer.text; // sanitized on the server: the one HTML this page takes
          say("");
        } else {
          say(answer.text.slice(0, 200));
        }
      }).catch(function () {
        if (ticket === sent) say("preview unavailable; use the Preview button");
      });
    }

    form.addEventListener("input", function () {
      if (timer) clearTimeout(timer);
      timer = setTimeout(refresh, DELAY_MS);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-preview-url]").forEach(start);
  });
})();
