// The incident page's live timeline: new entries arrive by server-sent events and are
// appended; an entry a timeline edit changed is replaced where it is shown. Without this
// script (or without EventSource) the page says "Reload for new entries".
"use strict";

(function () {
  function fragment(html) {
    var holder = document.createElement("template");
    holder.innerHTML = html.trim(); // the server's escaped HTML of one entry: no script in it
    return holder.content.firstElementChild;
  }

  function start() {
    var list = document.querySelector("ol.timeline[data-stream]");
    if (!list || !window.EventSource) return;
    var status = document.querySelector("[data-live-status]");
    var hint = document.querySelector(".reload-hint");
    var localize = (window.incidentBot && window.incidentBot.localize) || function () {};
    function show(state, text) {
      if (!status) return;
      status.hidden = false;
      status.setAttribute("data-state", state);
      status.textContent = text;
    }
    var source = new EventSource(list.getAttribute("data-stream"));
    source.addEventListener("open", function () {
      show("live", "Live");
      if (hint) hint.hidden = true;
    });
    source.addEventListener("error", function () {
      if (source.readyState === EventSource.CLOSED) {
        show("closed", "Disconnected: reload the page (you may need to sign in again)");
        if (hint) hint.hidden = false;
      } else {
        show("reconnecting", "Reconnecting…");
      }
    });
    source.addEventListener("entry", function (event) {
      var entry = fragment(event.data);
      if (!entry || (entry.id && document.getElementById(entry.id))) return;
      list.appendChild(entry);
      localize(entry);
      var empty = list.parentNode.querySelector(".empty");
      if (empty) empty.hidden = true;
    });
    source.addEventListener("update", function (event) {
      var entry = fragment(event.data);
      var shown = entry && entry.id && document.getElementById(entry.id);
      if (!shown || shown.querySelector("details.edit[open]")) return; // never under someone's typing
      shown.replaceWith(entry);
      localize(entry);
    });
  }

  document.addEventListener("DOMContentLoaded", start);
})();
