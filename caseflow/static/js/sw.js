// caseflow's service worker, served at /sw.js so that its scope is the whole app (issue 18,
// visits offline). It keeps two things, and nothing else:
// - the app's own files (/static/...), served from the phone first ("cf-shell-v1");
// - the pages the server marks "X-Caseflow-Offline: cache" (the visit forms of the signed-in
//   user's open cases and /offline/: case numbers and pseudonyms, never a protected field),
//   in a cache named after the signed-in user ("cf-pages-<key>"), refreshed whenever the
//   page is opened with a connection and served from the phone only when there is none.
// The pages' script (static/js/offline.js) fills the caches once signed in and deletes every
// user's pages at sign-out and on the sign-in page. Visits saved offline are not here: they
// wait in IndexedDB, sealed (static/js/offline-visits.js).
"use strict";

var SHELL = "cf-shell-v1";
var PAGES = "cf-pages-";
//: The pages that may be kept: /offline/ and a case's visit form.
var KEPT = /^\/(offline\/|cases\/\d+\/visits\/new)$/;

self.addEventListener("install", function () {
  self.skipWaiting();
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (name) {
      return name.indexOf("cf-shell-") === 0 && name !== SHELL;
    }).map(function (name) { return caches.delete(name); }));
  }).then(function () { return self.clients.claim(); }));
});

function keepPage(request, response) {
  var user = response.headers.get("X-Caseflow-Offline-User");
  if (!response.ok || response.redirected || response.headers.get("X-Caseflow-Offline") !== "cache"
      || !user || !/^[0-9a-f]{16}$/.test(user)) {
    return Promise.resolve();
  }
  var copy = response.clone();
  return caches.keys().then(function (names) {
    // Another user's pages never stay beside this user's.
    return Promise.all(names.filter(function (name) {
      return name.indexOf(PAGES) === 0 && name !== PAGES + user;
    }).map(function (name) { return caches.delete(name); }));
  }).then(function () {
    return caches.open(PAGES + user);
  }).then(function (cache) {
    return cache.put(new URL(request.url).pathname, copy);
  });
}

function fromPhone(request) {
  return caches.match(new URL(request.url).pathname, {ignoreVary: true, ignoreSearch: true});
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin || request.method !== "GET") {
    return;
  }
  if (url.pathname.indexOf("/static/") === 0) {
    event.respondWith(caches.open(SHELL).then(function (cache) {
      return cache.match(request, {ignoreVary: true}).then(function (hit) {
        return hit || fetch(request);
      });
    }));
    return;
  }
  if (request.mode === "navigate" && KEPT.test(url.pathname)) {
    event.respondWith(fetch(request).then(function (response) {
      event.waitUntil(keepPage(request, response));
      return response;
    }, function (error) {
      return fromPhone(request).then(function (hit) {
        if (hit) {
          return hit;
        }
        throw error;
      });
    }));
  }
});
