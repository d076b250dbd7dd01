// Offline (issue 18): on every page, register the service worker (/sw.js) and keep on the
// phone what a team member needs without a connection: the app's files and the visit
// forms of her open cases (the list comes from the server, /offline/status.json, filed
// under the signed-in user's key). On a page without a signed-in user (the sign-in page,
// where every sign-out ends), and when she signs out, every user's pages are deleted. A
// file, not an inline script: the Content-Security-Policy allows scripts from the app only.
(function () {
  "use strict";
  if (!("serviceWorker" in navigator) || !window.caches || !window.fetch) {
    return;
  }
  var PAGES = "cf-pages-";
  var SHELL = "cf-shell-v1";
  //: The pages are fetched again at most this often per tab (each page load otherwise).
  var REFRESH_MS = 10 * 60 * 1000;
  var script = document.currentScript;
  var worker = script && script.getAttribute("data-worker");
  var statusUrl = document.body.getAttribute("data-offline-status");

  function forgetPages(keep) {
    if (!keep) {
      try {
        sessionStorage.removeItem("cf-offline-kept");
      } catch (error) { /* nothing kept */ }
    }
    return caches.keys().then(function (names) {
      return Promise.all(names.filter(function (name) {
        return name.indexOf(PAGES) === 0 && name !== keep;
      }).map(function (name) { return caches.delete(name); }));
    });
  }

  if (!statusUrl) {
    forgetPages(null);
    return;
  }
  if (worker) {
    navigator.serviceWorker.register(worker, {scope: "/"}).catch(function () {});
  }
  // Signing out: the pages go before the sign-out is sent.
  document.querySelectorAll("form[data-sign-out]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (form.getAttribute("data-forgotten")) {
        return;
      }
      event.preventDefault();
      forgetPages(null).catch(function () {}).then(function () {
        form.setAttribute("data-forgotten", "1");
        form.submit();
      });
    });
  });

  function keep(status) {
    var name = PAGES + status.user;
    var wanted = status.pages;
    return forgetPages(name).then(function () {
      return caches.open(SHELL);
    }).then(function (shell) {
      return shell.addAll(status.shell).catch(function () {});
    }).then(function () {
      return caches.open(name);
    }).then(function (cache) {
      return Promise.all(wanted.map(function (path) {
        return fetch(path, {credentials: "same-origin", redirect: "manual"}).then(function (response) {
          if (response.ok && response.headers.get("X-Caseflow-Offline") === "cache"
              && response.headers.get("X-Caseflow-Offline-User") === status.user) {
            return cache.put(path, response);
          }
          return cache.delete(path);
        }).catch(function () {});
      })).then(function () {
        return cache.keys();
      }).then(function (requests) {
        // A case closed or left since: its form is no longer kept.
        return Promise.all(requests.filter(function (request) {
          return wanted.indexOf(new URL(request.url).pathname) < 0;
        }).map(function (request) { return cache.delete(request); }));
      });
    }).then(function () {
      try {
        sessionStorage.setItem("cf-offline-kept", status.user + " " + Date.now());
      } catch (error) { /* private mode: fetched again next time */ }
      document.documentElement.setAttribute("data-offline-kept", status.user);
    });
  }

  function due() {
    var last = null;
    try {
      last = (sessionStorage.getItem("cf-offline-kept") || "").split(" ");
    } catch (error) { /* as never kept */ }
    return !last || last.length < 2 || Date.now() - parseInt(last[1], 10) > REFRESH_MS;
  }

  if (navigator.onLine && due()) {
    fetch(statusUrl, {credentials: "same-origin", redirect: "manual", cache: "no-store",
                      headers: {"Accept": "application/json"}})
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (status) {
        if (!status || !status.signed_in) {
          return forgetPages(null);
        }
        return keep(status);
      })
      .catch(function () {});
  }
}());
