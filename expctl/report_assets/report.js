/* expctl report: sortable tables. No dependency, no network. */
(function () {
  "use strict";
  function key(td) {
    var k = td.getAttribute("data-sort");
    if (k !== null && k !== "") {
      var n = Number(k);
      if (!isNaN(n)) return n;
    }
    var t = td.textContent.trim();
    var lead = Number(t.split(" ")[0]);
    return t !== "" && !isNaN(lead) ? lead : t.toLowerCase();
  }
  function sortBy(table, col, th) {
    var heads = table.tHead.rows[0].cells;
    var asc = th.getAttribute("aria-sort") !== "ascending";
    Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", asc ? "ascending" : "descending");
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = key(a.cells[col]), y = key(b.cells[col]);
      var empty = (x === "") - (y === "");
      if (empty) return empty;  /* empty cells last, either way */
      if (typeof x !== typeof y) { x = String(x); y = String(y); }
      return (x < y ? -1 : x > y ? 1 : 0) * (asc ? 1 : -1);
    });
    rows.forEach(function (r) { body.appendChild(r); });
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, col) {
      th.tabIndex = 0;
      th.title = "Sort by " + th.textContent.trim();
      th.addEventListener("click", function () { sortBy(table, col, th); });
      th.addEventListener("keydown", function (e) { if (e.key === "Enter") sortBy(table, col, th); });
    });
  });
  window.expctlReport = { ready: true, charts: document.querySelectorAll("svg.chart").length };
})();
