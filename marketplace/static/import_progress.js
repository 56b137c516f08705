/* The import page follows a running import: it asks the status URL named on
   #import every second, moves the bar, and reloads once the import has finished
   (the page then shows the outcome). Loaded only while the import runs. What it
   says comes from #import's data-importing, in the reader's language, with
   {percent} where the number goes. */
(function () {
  "use strict";
  var box = document.getElementById("import"),
      bar = document.getElementById("import-bar"),
      state = document.getElementById("import-state");
  if (!box || !box.dataset.statusUrl) { return; }
  function poll() {
    fetch(box.dataset.statusUrl, {credentials: "same-origin"})
      .then(function (r) { return r.json(); })
      .then(function (s) {
        if (s.finished) { window.location.reload(); return; }
        if (s.of) {
          bar.max = s.of;
          bar.value = s.done;
          state.textContent = (box.dataset.importing || "Importing… {percent}%")
            .replace("{percent}", String(Math.round(100 * s.done / s.of)));
        }
        setTimeout(poll, 1000);
      })
      .catch(function () { setTimeout(poll, 3000); });
  }
  setTimeout(poll, 500);
})();
