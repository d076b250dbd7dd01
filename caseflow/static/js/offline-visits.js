// Visits offline (issue 18), on the visit form page (templates/investigations/
// visit_offline.html) and /offline/:
// - saving the form seals the visit for the signed-in user's key (the page's data-key: a
//   P-256 public key from the server): a fresh ECDH key pair, HKDF-SHA-256 of the shared
//   secret to an AES-256-GCM key, the visit's token and case bound in as associated data
//   (caseflow/investigations/services/offline.py opens it with the private key only the
//   server holds). The sealed visit waits in IndexedDB ("caseflow-offline"), with its token,
//   case number and time in clear; the phone holds no key that opens it;
// - a photo from the camera is drawn smaller first (at most 1600 px, JPEG) and sealed with it;
// - with a connection (at page load and at the "online" event) each waiting visit is sent
//   once, with its token (the server records a token once) and the form token of the session,
//   and removed from the phone when the server says it is recorded;
// - a visit the server does not record (the case changed, it cannot be recorded now) stays,
//   with the reason, until the user sends it again against the case as it is now or
//   discards it herself.
(function () {
  "use strict";
  var box = document.getElementById("offline-visits");
  if (!box || !window.indexedDB || !window.crypto || !crypto.subtle || !window.fetch) {
    return;
  }
  var form = document.querySelector("[data-offline-visit-form]");
  var statusLine = document.querySelector("[data-testid=offline-status]");
  var list = box.querySelector("[data-testid=waiting-list]");
  var caseFilter = box.getAttribute("data-case-id");
  var statusUrl = box.getAttribute("data-status-url");
  var keyId = box.getAttribute("data-key-id");
  var encoder = new TextEncoder();
  var INFO = encoder.encode("caseflow offline visit v1");
  var MAX_SIDE = 1600;
  var REQUIRED = ["visited_on", "place_kind", "address", "visitor_ids", "met", "notes"];
  //: What the server showed of a visit in conflict, and gave back of a visit it refused
  //: (to correct in the form): in memory only, never stored.
  var summaries = {};
  var editable = {};
  var syncing = false;

  function msg(name) {
    return box.getAttribute("data-msg-" + name) || "";
  }

  function fill(template, values) {
    return Object.keys(values).reduce(function (text, name) {
      return text.split("{" + name + "}").join(String(values[name]));
    }, template);
  }

  function say(text) {
    if (statusLine) {
      statusLine.textContent = text;
    }
  }

  // -- the phone's store --------------------------------------------------------------------

  function done(request) {
    return new Promise(function (resolve, reject) {
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  }

  function visits(mode) {
    var opening = indexedDB.open("caseflow-offline", 1);
    opening.onupgradeneeded = function () {
      opening.result.createObjectStore("visits", {keyPath: "token"});
    };
    return done(opening).then(function (db) {
      return db.transaction("visits", mode).objectStore("visits");
    });
  }

  function allDrafts() {
    return visits("readonly").then(function (store) { return done(store.getAll()); });
  }

  function putDraft(draft) {
    return visits("readwrite").then(function (store) { return done(store.put(draft)); });
  }

  function dropDraft(token) {
    return visits("readwrite").then(function (store) { return done(store.delete(token)); });
  }

  // -- sealing ------------------------------------------------------------------------------

  function toBase64(buffer) {
    var bytes = new Uint8Array(buffer);
    var text = "";
    for (var i = 0; i < bytes.length; i += 0x8000) {
      text += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    }
    return btoa(text);
  }

  function fromBase64(text) {
    var raw = atob(text);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i += 1) {
      bytes[i] = raw.charCodeAt(i);
    }
    return bytes;
  }

  async function seal(payload, token, caseId, publicKey, sealedFor) {
    var curve = {name: "ECDH", namedCurve: "P-256"};
    var server = await crypto.subtle.importKey("raw", fromBase64(publicKey), curve, false, []);
    var mine = await crypto.subtle.generateKey(curve, false, ["deriveBits"]);
    var shared = await crypto.subtle.deriveBits({name: "ECDH", public: server}, mine.privateKey, 256);
    var material = await crypto.subtle.importKey("raw", shared, "HKDF", false, ["deriveKey"]);
    var key = await crypto.subtle.deriveKey(
      {name: "HKDF", hash: "SHA-256", salt: encoder.encode(sealedFor), info: INFO},
      material, {name: "AES-GCM", length: 256}, false, ["encrypt"]);
    var iv = crypto.getRandomValues(new Uint8Array(12));
    var data = await crypto.subtle.encrypt(
      {name: "AES-GCM", iv: iv, additionalData: encoder.encode(token + "|" + caseId)},
      key, encoder.encode(JSON.stringify(payload)));
    var ephemeral = await crypto.subtle.exportKey("raw", mine.publicKey);
    return {kid: sealedFor, epk: toBase64(ephemeral), iv: toBase64(iv), data: toBase64(data)};
  }

  // -- the form -----------------------------------------------------------------------------

  async function photoOf(input) {
    var file = input && input.files && input.files[0];
    if (!file) {
      return null;
    }
    var bitmap = await createImageBitmap(file);
    var scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
    var canvas = document.createElement("canvas");
    canvas.width = Math.max(1, Math.round(bitmap.width * scale));
    canvas.height = Math.max(1, Math.round(bitmap.height * scale));
    canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    var blob = await new Promise(function (resolve) { canvas.toBlob(resolve, "image/jpeg", 0.85); });
    var name = (file.name || "photo").replace(/\.[^.]*$/, "") + ".jpg";
    return {name: name, data: toBase64(await blob.arrayBuffer())};
  }

  function fieldsOf() {
    function value(name) {
      var element = form.elements[name];
      return element && element.value !== undefined ? element.value : "";
    }
    var visitors = Array.prototype.map.call(
      form.querySelectorAll("input[name=visitor_ids]:checked"),
      function (input) { return parseInt(input.value, 10); });
    return {visited_on: value("visited_on"), place_kind: value("place_kind"),
            address: value("address"), visitor_ids: visitors,
            other_visitors: value("other_visitors"), met: value("met"), notes: value("notes")};
  }

  function missing(fields) {
    return REQUIRED.filter(function (name) {
      var value = fields[name];
      return Array.isArray(value) ? !value.length : !String(value).trim();
    }).map(function (name) {
      var element = form.querySelector("[name=" + name + "]");
      var label = element && element.id ? form.querySelector("label[for='" + element.id + "']") : null;
      var legend = element && element.closest("fieldset") ? element.closest("fieldset").querySelector("legend") : null;
      return (label || legend || {textContent: name}).textContent.trim();
    });
  }

  async function save() {
    var fields = fieldsOf();
    var absent = missing(fields);
    if (absent.length) {
      say(msg("missing") + absent.join("、"));
      return;
    }
    var replaces = form.getAttribute("data-replaces");
    var photo = await photoOf(form.elements.attachment)
      || (replaces && editable[replaces] ? editable[replaces].photo : null);
    if (photo) {
      fields.photo = photo;
    }
    var token = crypto.randomUUID();
    var caseId = form.getAttribute("data-case-id");
    var sealedFor = form.getAttribute("data-key-id");
    var sealed = await seal(fields, token, caseId, form.getAttribute("data-key"), sealedFor);
    await putDraft({
      token: token, caseId: caseId, caseNumber: form.getAttribute("data-case-number"),
      kid: sealedFor, savedAt: new Date().toISOString(),
      baseVersion: parseInt(form.getAttribute("data-base-version"), 10) || null,
      formAt: form.getAttribute("data-form-at"), syncUrl: form.getAttribute("data-sync-url"),
      sealed: sealed, state: "waiting"
    });
    if (replaces) {
      // The corrected visit is on the phone: the refused copy goes.
      await dropDraft(replaces);
      delete editable[replaces];
      form.removeAttribute("data-replaces");
    }
    form.reset();
    say(msg("saved"));
    await render();
    if (navigator.onLine) {
      await sync();
    }
  }

  // -- sending ------------------------------------------------------------------------------

  async function session() {
    var response;
    try {
      response = await fetch(statusUrl, {credentials: "same-origin", redirect: "manual",
                                         cache: "no-store", headers: {"Accept": "application/json"}});
    } catch (error) {
      return null;  // no connection after all
    }
    if (response.status === 401 || response.type === "opaqueredirect") {
      say(msg("signed-out"));
      return null;
    }
    return response.ok ? response.json() : null;
  }

  function sentLink(answer) {
    say(answer.status === "already_recorded" ? msg("already") : msg("sent"));
    if (statusLine && answer.url) {
      var link = document.createElement("a");
      link.href = answer.url;
      link.className = "ms-2";
      link.textContent = msg("sent-link");
      statusLine.appendChild(link);
    }
  }

  async function send(draft, status) {
    var response;
    try {
      response = await fetch(draft.syncUrl, {
        method: "POST", credentials: "same-origin", redirect: "manual", cache: "no-store",
        headers: {"Content-Type": "application/json", "Accept": "application/json",
                  "X-CSRFToken": status.csrf_token},
        body: JSON.stringify({token: draft.token, base_version: draft.baseVersion,
                              form_at: draft.formAt, sealed: draft.sealed})
      });
    } catch (error) {
      return false;  // the connection went again: this one and the rest wait
    }
    if (response.status === 401 || response.type === "opaqueredirect") {
      say(msg("signed-out"));
      return false;
    }
    var answer = null;
    try {
      answer = await response.json();
    } catch (error) { /* not the sync's answer (a proxy's page): tried again later */ }
    if (!answer || response.status >= 500) {
      return true;
    }
    if (response.status === 200 || response.status === 201) {
      await dropDraft(draft.token);
      sentLink(answer);
      return true;
    }
    draft.state = answer.status === "conflict" ? "conflict" : "refused";
    draft.reason = answer.message || "";
    draft.errors = (answer.errors || []).map(function (error) { return error.message; })
      .filter(function (text) { return text && text !== draft.reason; });
    draft.changes = answer.changes || [];
    if (answer.current_version) {
      draft.currentVersion = answer.current_version;
    }
    if (answer.visit) {
      summaries[draft.token] = answer.visit;
    }
    if (answer.fields) {
      editable[draft.token] = answer.fields;
    }
    await putDraft(draft);
    return true;
  }

  async function sync() {
    if (syncing) {
      return;
    }
    syncing = true;
    try {
      var waiting = (await allDrafts()).filter(function (draft) { return draft.state === "waiting"; });
      if (!waiting.length) {
        return;
      }
      var status = await session();
      if (!status) {
        return;
      }
      keyId = status.key_id;
      for (var i = 0; i < waiting.length; i += 1) {
        if (waiting[i].kid !== status.key_id) {
          continue;  // another account's: it waits for that account
        }
        if (!(await send(waiting[i], status))) {
          break;
        }
      }
    } finally {
      syncing = false;
      await render();
    }
  }

  // -- the list -----------------------------------------------------------------------------

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text) {
      node.textContent = text;
    }
    return node;
  }

  function button(label, className, testid, action) {
    var node = element("button", "btn btn-sm " + className, label);
    node.type = "button";
    node.setAttribute("data-testid", testid);
    node.addEventListener("click", action);
    return node;
  }

  function item(draft) {
    var li = element("li", "border rounded p-2 mb-2 small");
    li.setAttribute("data-testid", "waiting-visit");
    li.setAttribute("data-state", draft.state);
    var saved = new Date(draft.savedAt).toLocaleString(document.documentElement.lang || undefined);
    var head = element("div", "", (caseFilter ? "" : msg("case") + " " + draft.caseNumber + " · ")
                       + fill(msg("waiting"), {time: saved}));
    li.appendChild(head);
    if (draft.state === "waiting") {
      return li;
    }
    li.classList.add(draft.state === "conflict" ? "border-warning" : "border-danger");
    li.appendChild(element("strong", "d-block", draft.state === "conflict" ? msg("conflict") : msg("refused")));
    var reason = element("p", "mb-1", draft.reason);
    reason.setAttribute("data-testid", "visit-conflict");
    li.appendChild(reason);
    (draft.errors || []).forEach(function (text) { li.appendChild(element("div", "text-danger", text)); });
    var summary = summaries[draft.token];
    if (summary) {
      li.appendChild(element("div", "text-body-secondary",
                             [summary.visited_on, summary.place, summary.met].filter(Boolean).join(" · ")));
      if (summary.notes) {
        li.appendChild(element("div", "text-body-secondary text-prewrap", summary.notes));
      }
    }
    if (draft.changes && draft.changes.length) {
      var since = new Date(draft.formAt || draft.savedAt)
        .toLocaleString(document.documentElement.lang || undefined);
      li.appendChild(element("div", "mt-1", fill(msg("changes"), {time: since})));
      var changes = element("ul", "mb-1");
      changes.setAttribute("data-testid", "visit-conflict-changes");
      draft.changes.forEach(function (text) { changes.appendChild(element("li", "", text)); });
      li.appendChild(changes);
    }
    var actions = element("div", "d-flex flex-wrap gap-2 mt-1");
    if (draft.state === "refused" && editable[draft.token] && form
        && String(draft.caseId) === form.getAttribute("data-case-id")) {
      actions.appendChild(button(msg("correct"), "btn-primary", "correct-visit", function () {
        backInForm(draft.token, editable[draft.token]);
      }));
    }
    if (draft.state === "conflict") {
      actions.appendChild(button(msg("resend"), "btn-primary", "resend-visit", function () {
        draft.state = "waiting";
        if (draft.currentVersion) {
          draft.baseVersion = draft.currentVersion;
        }
        putDraft(draft).then(render).then(sync);
      }));
    }
    actions.appendChild(button(msg("discard"), "btn-outline-danger", "discard-visit", function () {
      if (window.confirm(msg("discard-confirm"))) {
        dropDraft(draft.token).then(function () {
          say(msg("discarded"));
          return render();
        });
      }
    }));
    li.appendChild(actions);
    return li;
  }

  function backInForm(token, fields) {
    ["visited_on", "place_kind", "address", "other_visitors", "met", "notes"].forEach(function (name) {
      if (form.elements[name]) {
        form.elements[name].value = fields[name] || "";
      }
    });
    form.querySelectorAll("input[name=visitor_ids]").forEach(function (input) {
      input.checked = (fields.visitor_ids || []).indexOf(parseInt(input.value, 10)) >= 0;
    });
    form.setAttribute("data-replaces", token);
    say(msg("correcting"));
    form.scrollIntoView({block: "start"});
    form.elements.visited_on.focus();
  }

  async function render() {
    var drafts = await allDrafts();
    var mine = drafts.filter(function (draft) {
      return draft.kid === keyId && (!caseFilter || String(draft.caseId) === caseFilter);
    }).sort(function (a, b) { return a.savedAt < b.savedAt ? -1 : 1; });
    var others = drafts.filter(function (draft) { return draft.kid !== keyId; }).length;
    list.textContent = "";
    mine.forEach(function (draft) { list.appendChild(item(draft)); });
    if (others) {
      list.appendChild(element("li", "small text-body-secondary", fill(msg("other-account"), {count: others})));
    }
    box.hidden = !mine.length && !others;
    box.setAttribute("data-count", String(mine.length));
  }

  if (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      save().catch(function (error) {
        say(fill(msg("failed"), {error: error && error.message ? error.message : String(error)}));
      });
    });
  }
  window.addEventListener("online", function () { sync().catch(function () {}); });
  render().then(function () {
    box.setAttribute("data-ready", "1");
    return navigator.onLine ? sync() : null;
  }).catch(function () {});
}());
