// The header bell keeps its count without a reload: while the page is visible it asks
// the bell's endpoint every few seconds (data-poll-seconds), and stops for good once the
// session has ended (401). A file, not an inline script: the Content-Security-Policy
// allows scripts from 'self' only.
(function () {
  "use strict";
  var bell = document.querySelector("[data-testid=bell][data-poll-url]");
  if (!bell || !window.fetch) {
    return;
  }
  var count = bell.querySelector("[data-testid=bell-count]");
  var news = document.querySelector("[data-testid=bell-news]");
  var url = bell.getAttribute("data-poll-url");
  var seconds = Math.max(1, parseInt(bell.getAttribute("data-poll-seconds"), 10) || 15);
  var shown = parseInt(count.textContent, 10) || 0;
  var timer = null;
  var stopped = false;

  function show(data) {
    count.textContent = String(data.unread);
    bell.setAttribute("aria-label", data.label);
    bell.classList.toggle("btn-warning", data.unread > 0);
    bell.classList.toggle("btn-outline-light", data.unread === 0);
    var texts = (data.latest || []).map(function (item) { return item.text; });
    if (texts.length) {
      bell.setAttribute("title", texts.join("\n"));
    } else {
      bell.removeAttribute("title");
    }
    // Read out only what is new, once: the newest sentence when the count has grown.
    if (news && data.unread > shown && texts.length) {
      news.textContent = texts[0];
    }
    shown = data.unread;
  }

  function schedule() {
    clearTimeout(timer);
    timer = null;
    if (!stopped && document.visibilityState === "visible") {
      timer = setTimeout(poll, seconds * 1000);
    }
  }

  function stop() {
    stopped = true;
    clearTimeout(timer);
    document.removeEventListener("visibilitychange", onVisibility);
  }

  function poll() {
    fetch(url, {credentials: "same-origin", cache: "no-store", headers: {"Accept": "application/json"}})
      .then(function (response) {
        if (response.status === 401) {
          stop();
          return null;
        }
        return response.ok ? response.json() : null;
      })
      .then(function (data) {
        if (data) {
          show(data);
        }
      })
      // A failed request (server restarting, network down) is tried again at the next turn.
      .catch(function () {})
      .then(schedule);
  }

  function onVisibility() {
    if (document.visibilityState === "visible") {
      clearTimeout(timer);
      poll();
    } else {
      clearTimeout(timer);
      timer = null;
    }
  }

  document.addEventListener("visibilitychange", onVisibility);
  schedule();
}());
