// Belong console: select-all and keyboard review in the queue. Everything here has a
// plain HTML fallback: forms post without it, and checkboxes can be ticked one by one.
//   j / k  next / previous draft      a  approve it       r  reject it (type the reason, Enter)
//   e      edit it                    x  select it        ?  show these keys
(function () {
  "use strict";
  var current = -1;
  function rows() { return Array.prototype.slice.call(document.querySelectorAll("tr.draft")); }
  function focusRow(n) {
    var rs = rows();
    if (!rs.length) { return; }
    current = Math.max(0, Math.min(rs.length - 1, n));
    rs.forEach(function (r) { r.classList.remove("current"); });
    rs[current].classList.add("current");
    rs[current].focus();
  }
  document.addEventListener("keydown", function (e) {
    if (e.metaKey || e.ctrlKey || e.altKey || (e.target.matches && e.target.matches("input, textarea, select"))) { return; }
    var row = rows()[current];
    switch (e.key) {
      case "j": focusRow(current + 1); break;
      case "k": focusRow(current - 1); break;
      case "a": if (row) { var b = row.querySelector("button.approve"); if (b) { b.click(); } } break;
      case "r": if (row) { var i = row.querySelector("input.reject-reason"); if (i) { i.focus(); } } break;
      case "e": if (row) { var l = row.querySelector("a.edit"); if (l) { l.click(); } } break;
      case "x": if (row) { var c = row.querySelector("input.pick"); if (c) { c.checked = !c.checked; } } break;
      case "?": var h = document.getElementById("keys"); if (h) { h.hidden = !h.hidden; } break;
      default: return;
    }
    e.preventDefault();
  });
  var toggle = document.getElementById("keys-toggle");
  if (toggle) {
    toggle.addEventListener("click", function () { var h = document.getElementById("keys"); h.hidden = !h.hidden; });
  }
  var all = document.getElementById("select-all");
  if (all) {
    all.addEventListener("change", function () {
      document.querySelectorAll("input.pick").forEach(function (c) { c.checked = all.checked; });
    });
  }
  // A decided row is replaced in place; the next one becomes current.
  document.body.addEventListener("htmx:afterSwap", function () { if (current >= 0) { focusRow(current + 1); } });
})();

// The community map: zoom with the buttons or the mouse wheel (the viewBox shrinks
// around the centre, or around the pointer), drag-free; reset shows it whole.
(function () {
  "use strict";
  var svg = document.getElementById("community-map");
  if (!svg) { return; }
  var W = parseFloat(svg.dataset.w), H = parseFloat(svg.dataset.h);
  var box = { x: 0, y: 0, w: W, h: H };
  function set() { svg.setAttribute("viewBox", [box.x, box.y, box.w, box.h].join(" ")); }
  function zoom(f, cx, cy) {
    var w = Math.min(W, Math.max(W / 16, box.w * f)), h = w * H / W;
    box.x = Math.min(W - w, Math.max(0, cx - (cx - box.x) * w / box.w));
    box.y = Math.min(H - h, Math.max(0, cy - (cy - box.y) * h / box.h));
    box.w = w; box.h = h; set();
  }
  function centre() { return [box.x + box.w / 2, box.y + box.h / 2]; }
  document.getElementById("zoom-in").addEventListener("click", function () { var c = centre(); zoom(0.5, c[0], c[1]); });
  document.getElementById("zoom-out").addEventListener("click", function () { var c = centre(); zoom(2, c[0], c[1]); });
  document.getElementById("zoom-reset").addEventListener("click", function () { box = { x: 0, y: 0, w: W, h: H }; set(); });
  svg.addEventListener("wheel", function (e) {
    e.preventDefault();
    var r = svg.getBoundingClientRect();
    zoom(e.deltaY < 0 ? 0.8 : 1.25, box.x + (e.clientX - r.left) / r.width * box.w, box.y + (e.clientY - r.top) / r.height * box.h);
  }, { passive: false });
})();
