// incident-bot web workspace: small enhancements; every page works without them.
// No inline script anywhere (the Content-Security-Policy forbids it): behaviour hangs off
// data- attributes.
"use strict";

(function () {
  // Times: written in UTC by the server; add the viewer's own zone when it differs.
  function localize(root) {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
    if (!zone || zone === "UTC" || zone === "Etc/UTC") return;
    root.querySelectorAll("time[datetime]:not([data-local])").forEach(function (el) {
      var d = new Date(el.getAttribute("datetime"));
      if (isNaN(d)) return;
      // The local date only when it is not the UTC date written beside it.
      var sameDay = d.toLocaleDateString("en-CA") === el.getAttribute("datetime").slice(0, 10);
      var parts = { hour: "2-digit", minute: "2-digit", timeZoneName: "short" };
      if (!sameDay) { parts.month = "short"; parts.day = "numeric"; }
      var local = d.toLocaleString(undefined, parts);
      var span = document.createElement("span");
      span.className = "local";
      span.textContent = " (" + local + ")";
      el.setAttribute("data-local", "1");
      el.after(span);
    });
    document.querySelectorAll(".localzone").forEach(function (el) {
      el.textContent = "; in brackets, your zone (" + zone + ")";
      el.hidden = false;
    });
  }
  window.incidentBot = { localize: localize };
  document.addEventListener("DOMContentLoaded", function () { localize(document); });
})();
