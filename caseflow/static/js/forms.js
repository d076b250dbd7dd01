// Forms: an error summary at the top of a form the server sent back with errors, and a
// live character counter under long texts. A file, not an inline script: the
// Content-Security-Policy allows scripts from the app only. Without JavaScript the
// errors still stand beside their fields and the counter shows the count the server saw.
(function () {
  "use strict";

  // Characters as the server counts them: code points, and a line break as the two
  // characters (CR LF) the browser sends for it.
  function charCount(text) {
    var count = 0;
    for (var ch of text) count += ch === "\n" ? 2 : 1;
    return count;
  }

  function fill(template, name, value) {
    return template.split("{" + name + "}").join(String(value));
  }

  function setUpCounter(input) {
    var limit = parseInt(input.getAttribute("data-max-chars"), 10);
    var counter = document.getElementById(input.id + "-count");
    if (!counter || !limit) return;
    var template = counter.getAttribute("data-template");
    var overTemplate = counter.getAttribute("data-over-template");
    // Read out after a pause in typing, not at every key.
    var spoken = document.createElement("span");
    spoken.className = "visually-hidden";
    spoken.setAttribute("aria-live", "polite");
    counter.parentNode.insertBefore(spoken, counter.nextSibling);
    var timer = null;
    function update() {
      var count = charCount(input.value);
      var text = fill(fill(template, "count", count), "max", limit);
      if (count > limit) text += " · " + fill(overTemplate, "over", count - limit);
      counter.textContent = text;
      counter.classList.toggle("text-danger", count > limit);
      counter.classList.toggle("fw-bold", count > limit);
      clearTimeout(timer);
      timer = setTimeout(function () { spoken.textContent = text; }, 1000);
    }
    input.addEventListener("input", update);
    update();
  }

  function labelFor(target, error) {
    if (error.getAttribute("data-label")) return error.getAttribute("data-label");
    var label = target && target.id ? document.querySelector('label[for="' + target.id + '"]') : null;
    if (label) return label.textContent.trim();
    var fieldset = error.closest("fieldset");
    var legend = fieldset ? fieldset.querySelector("legend") : null;
    return legend ? legend.textContent.trim() : "";
  }

  function targetOf(error) {
    var id = error.getAttribute("data-field-error-for");
    if (id && document.getElementById(id)) return document.getElementById(id);
    var box = error.parentElement;
    return box ? (box.querySelector(".is-invalid") || box.querySelector("input, select, textarea")) : null;
  }

  function summarise(form, title, itemTemplate) {
    var errors = form.querySelectorAll(".invalid-feedback");
    if (!errors.length) return null;
    var summary = document.createElement("div");
    summary.className = "alert alert-danger error-summary";
    summary.setAttribute("tabindex", "-1");
    // Announced as it appears, and again when it takes focus below.
    summary.setAttribute("role", "alert");
    summary.setAttribute("data-testid", "error-summary");
    var heading = document.createElement("h2");
    heading.className = "h6 alert-heading";
    heading.textContent = title;
    summary.appendChild(heading);
    summary.setAttribute("aria-labelledby", (heading.id = "error-summary-" + Math.random().toString(36).slice(2)));
    var list = document.createElement("ul");
    list.className = "mb-0";
    errors.forEach(function (error) {
      var target = targetOf(error);
      var item = document.createElement("li");
      var label = labelFor(target, error);
      var text = label ? fill(fill(itemTemplate, "label", label), "error", error.textContent.trim())
                       : error.textContent.trim();
      if (target && target.id) {
        var link = document.createElement("a");
        link.href = "#" + target.id;
        link.className = "alert-link";
        link.textContent = text;
        link.addEventListener("click", function (event) {
          event.preventDefault();
          target.scrollIntoView({block: "center"});
          target.focus();
        });
        item.appendChild(link);
      } else {
        item.textContent = text;
      }
      list.appendChild(item);
    });
    summary.appendChild(list);
    form.insertBefore(summary, form.firstChild);
    return summary;
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-max-chars]").forEach(setUpCounter);
    var title = document.body.getAttribute("data-error-summary-title") || "";
    var itemTemplate = document.body.getAttribute("data-error-summary-item") || "{label}: {error}";
    var first = null;
    document.querySelectorAll("form").forEach(function (form) {
      var summary = summarise(form, title, itemTemplate);
      if (summary && !first) first = summary;
    });
    // A screen reader starts at the list of what to correct, not at the top of the page.
    if (first) {
      var details = first.closest("details");
      if (details) details.open = true;
      first.focus();
    }
  });
})();
