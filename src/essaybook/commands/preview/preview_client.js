// essaybook preview: the one script added to each page. It reloads the page when the book is rebuilt
// (Server-Sent Events from /_essaybook/events) and shows a small toolbar (previous/next document, contents,
// the PDF, the latest build's warnings) in a shadow root, so neither the book's CSS nor the toolbar's
// affects the other.
(function () {
  "use strict";
  var script = document.currentScript;
  var generation = Number(script ? script.getAttribute("data-generation") : 0);
  var base = "/_essaybook/";
  var scrollKey = "essaybook-scroll:" + location.pathname;
  var NS = "http://www.w3.org/1999/xhtml";
  var reloading = false;

  function reload() {
    if (reloading) return;
    reloading = true;
    try { sessionStorage.setItem(scrollKey, String(window.scrollY)); } catch (e) { /* storage off */ }
    location.reload();
  }

  var savedScroll = null;
  try {
    savedScroll = sessionStorage.getItem(scrollKey);
    sessionStorage.removeItem(scrollKey);
  } catch (e) { /* storage off */ }
  function restoreScroll() {
    if (savedScroll !== null) window.scrollTo(0, Number(savedScroll));
  }

  function el(tag, attrs, text) {
    var node = document.createElementNS(NS, tag);
    Object.keys(attrs || {}).forEach(function (name) { node.setAttribute(name, attrs[name]); });
    if (text) node.textContent = text;
    return node;
  }

  var host = el("div", { id: "essaybook-preview" });
  var shadow = host.attachShadow({ mode: "open" });
  shadow.appendChild(el("style", {}, [
    ":host { all: initial; position: fixed; right: 12px; bottom: 12px; z-index: 2147483647; }",
    ".bar { display: flex; gap: 6px; align-items: center; padding: 6px 8px; border-radius: 8px;",
    "  background: rgba(32, 33, 36, .92); color: #f1f3f4; font: 13px/1.3 system-ui, sans-serif;",
    "  box-shadow: 0 2px 8px rgba(0, 0, 0, .3); }",
    "a, button { color: inherit; font: inherit; text-decoration: none; background: none; border: 0;",
    "  padding: 3px 6px; border-radius: 4px; cursor: pointer; }",
    "a:hover, button:hover { background: rgba(255, 255, 255, .15); }",
    "a[aria-disabled=true] { opacity: .35; pointer-events: none; }",
    ".pdf-building, .pdf-stale { color: #fdd663; } .pdf-failed, .error { color: #f28b82; }",
    ".warn { color: #fdd663; }",
    ".panel { position: absolute; right: 0; bottom: 100%; margin-bottom: 6px; width: min(44rem, 90vw);",
    "  max-height: 50vh; overflow: auto; padding: 8px 12px; border-radius: 8px; background: #fff;",
    "  color: #202124; font: 13px/1.45 system-ui, sans-serif; box-shadow: 0 2px 12px rgba(0, 0, 0, .35); }",
    ".panel[hidden] { display: none; } .panel h2 { font-size: 13px; margin: 4px 0; }",
    ".panel ul { margin: 0 0 6px; padding-left: 1.2em; } .panel li { margin: 2px 0; word-break: break-word; }"
  ].join("\n")));
  var bar = el("div", { "class": "bar", role: "toolbar", "aria-label": "essaybook preview" });
  var panel = el("div", { "class": "panel", hidden: "hidden" });
  shadow.appendChild(panel);
  shadow.appendChild(bar);

  function link(label, href, title) {
    var a = el("a", href ? { href: href } : { "aria-disabled": "true" }, label);
    if (title) a.setAttribute("title", title);
    return a;
  }

  function pdfLink(pdf) {
    if (pdf.state === "off") return null;
    var label = "PDF", state = "ready", title = "Open the PDF (rebuilt in the background)";
    if (pdf.state === "building") {
      label = pdf.href ? "PDF (older; rebuilding…)" : "PDF (building…)";
      state = "building";
    } else if (pdf.state === "failed") {
      label = "PDF (failed)";
      state = "failed";
      title = pdf.message;
    } else if (pdf.stale) {
      label = "PDF (older)";
      state = "stale";
    }
    var a = link(label, pdf.href, title);
    a.setAttribute("class", "pdf-" + state);
    if (pdf.href) a.setAttribute("target", "_blank");
    return a;
  }

  function list(title, items) {
    if (!items.length) return 0;
    panel.appendChild(el("h2", {}, title));
    var ul = el("ul");
    items.forEach(function (text) { ul.appendChild(el("li", {}, text)); });
    panel.appendChild(ul);
    return items.length;
  }

  // Draws the toolbar and the warnings panel; returns how many warnings the panel lists.
  function render(status) {
    if (status.generation !== generation) {
      reload();
      return 0;
    }
    var open = !panel.hasAttribute("hidden");
    bar.textContent = "";
    panel.textContent = "";
    var here = status.spine.map(function (d) { return d.href; }).indexOf(location.pathname);
    var prev = here > 0 ? status.spine[here - 1] : null;
    var next = here >= 0 && here + 1 < status.spine.length ? status.spine[here + 1] : null;
    bar.appendChild(link("‹", prev && prev.href, prev ? "Previous: " + prev.title : ""));
    bar.appendChild(link("Contents", "/nav.xhtml"));
    bar.appendChild(link("›", next && next.href, next ? "Next: " + next.title : ""));
    var pdf = pdfLink(status.pdf);
    if (pdf) bar.appendChild(pdf);
    var count = list("Warnings of the latest build", status.warnings);
    count += list("Warnings of the latest PDF", status.pdf.warnings);
    if (status.problem) {
      bar.appendChild(el("span", { "class": "error" }, "build failed"));
    }
    if (count) {
      var toggle = el("button", { type: "button", "class": "warn", "aria-expanded": String(open) },
        "⚠ " + count + " warning" + (count === 1 ? "" : "s"));
      toggle.addEventListener("click", function () {
        var show = panel.hasAttribute("hidden");
        if (show) panel.removeAttribute("hidden"); else panel.setAttribute("hidden", "hidden");
        toggle.setAttribute("aria-expanded", String(show));
      });
      bar.appendChild(toggle);
    }
    if (!open || !count) panel.setAttribute("hidden", "hidden");
    return count;
  }

  function start() {
    document.body.appendChild(host);
    restoreScroll();
  }
  // An XHTML page runs the script as soon as it is parsed (the XML parser ignores defer): wait for the body.
  if (document.body) start(); else document.addEventListener("DOMContentLoaded", start);
  window.addEventListener("load", restoreScroll);

  fetch(base + "status").then(function (response) { return response.json(); }).then(function (status) {
    var count = render(status);
    if (!reloading) {
      // Tells the preview (and its tests) that this generation is on screen.
      fetch(base + "loaded?generation=" + generation + "&warnings=" + count);
    }
  });
  var events = new EventSource(base + "events");
  events.addEventListener("reload", function (event) {
    if (Number(event.data) !== generation) reload();
  });
  events.addEventListener("status", function (event) { render(JSON.parse(event.data)); });
})();
