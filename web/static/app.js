// Granary dashboard: live updates. The element marked data-live holds the
// part of the page that changes; every few seconds this fetches the same
// page as an HTML fragment (?fragment=1, rendered by the server with
// html/template) and swaps it in. It pauses while the tab is hidden and
// while focus is inside the live part (so keyboard users keep their
// place), and goes to the login page when the session has ended. Without
// JavaScript the pages work; they just do not update by themselves.
(function () {
  "use strict";
  var box = document.querySelector("[data-live]");
  if (!box) { return; }
  var interval = 2000;
  var timer = null;

  function fragmentURL() {
    var u = new URL(window.location.href);
    u.searchParams.set("fragment", "1");
    return u.toString();
  }

  function schedule(ms) {
    clearTimeout(timer);
    timer = setTimeout(tick, ms);
  }

  function tick() {
    if (document.hidden || box.contains(document.activeElement)) {
      schedule(interval);
      return;
    }
    fetch(fragmentURL(), { credentials: "same-origin", cache: "no-store", headers: { "Accept": "text/html" } })
      .then(function (resp) {
        if (resp.status === 401) {
          window.location.assign("/login?next=" + encodeURIComponent(window.location.pathname + window.location.search));
          return null;
        }
        if (!resp.ok) { throw new Error("HTTP " + resp.status); }
        return resp.text();
      })
      .then(function (html) {
        if (html === null) { return; }
        if (!box.contains(document.activeElement)) {
          box.innerHTML = html;
          box.setAttribute("data-updated", String(Date.now()));
        }
        schedule(interval);
      })
      .catch(function () { schedule(interval * 2); });
  }

  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) { schedule(0); }
  });
  schedule(interval);
})();
