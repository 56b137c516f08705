/* What every page does with a script (the stylesheet does the rest, and every
   page works without it): folded parts marked `wide-open` (the header's menu,
   the search filters) open on a wide screen and fold again on a narrow one, for
   browsers whose stylesheet cannot show a closed <details>; and a table's
   cells learn their column's heading (data-label), which a phone shows above
   each value once the table has become cards. */
(function () {
  "use strict";
  var wide = window.matchMedia("(min-width: 48rem)");

  // On load only open (a page may open its fold itself, say when a filter is
  // set); turning the phone or resizing the window folds and unfolds.
  function unfold(always) {
    document.querySelectorAll("details.wide-open").forEach(function (details) {
      if (wide.matches || always === true) { details.open = wide.matches; }
    });
  }

  function label(table) {
    var headings = [];
    table.querySelectorAll("thead tr:first-child > th").forEach(function (th) {
      for (var span = th.colSpan || 1; span > 0; span -= 1) {
        headings.push(th.textContent.trim());
      }
    });
    table.querySelectorAll("tbody tr").forEach(function (row) {
      var column = 0;
      Array.prototype.forEach.call(row.cells, function (cell) {
        var heading = headings[column];
        if (heading && cell.colSpan === 1 && !cell.hasAttribute("data-label")) {
          cell.setAttribute("data-label", heading);
        }
        column += cell.colSpan || 1;
      });
    });
  }

  function ready() {
    unfold();
    document.querySelectorAll("main table").forEach(label);
  }

  if (wide.addEventListener) { wide.addEventListener("change", function () { unfold(true); }); }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", ready);
  } else {
    ready();
  }
})();
