(function () {
  "use strict";
  var box = document.getElementById("search");
  var input = document.getElementById("q");
  var status = document.getElementById("search-status");
  if (!box || !input || !status) { return; }
  var rows = Array.prototype.slice.call(document.querySelectorAll("[data-row]"));
  var groups = Array.prototype.slice.call(document.querySelectorAll("[data-group]"));
  function norm(s) { return String(s).toLowerCase().replace(/\s+/g, " "); }
  var hay = rows.map(function (r) { return norm(r.textContent + " " + (r.getAttribute("data-terms") || "")); });
  function apply() {
    var words = norm(input.value).split(" ").filter(function (w) { return w.length > 0; });
    var shown = 0;
    rows.forEach(function (r, i) {
      var ok = words.every(function (w) { return hay[i].indexOf(w) !== -1; });
      r.hidden = !ok;
      if (ok) { shown += 1; }
    });
    groups.forEach(function (g) { g.hidden = !g.querySelector("[data-row]:not([hidden])"); });
    if (!words.length) { status.textContent = ""; }
    else if (shown) { status.textContent = box.getAttribute("data-found").replace("{n}", String(shown)); }
    else { status.textContent = box.getAttribute("data-none"); }
  }
  input.addEventListener("input", apply);
  input.addEventListener("search", apply);
  box.hidden = false;
  if (input.value) { apply(); }
}());
