// The page's prelude: work started while the app's code downloads and compiles. A separate
// file rather than an inline script, so the Content-Security-Policy allows scripts from the
// page's own origin only (index.html).
//
// Opens the gallery and reads its list: a browser takes 100 ms or more to open a large
// gallery. The app adopts the connection and the list (src/storage/gallery_db.rs); where
// anything here fails, it opens the gallery itself. Nothing is created here: a missing gallery
// is left to the app.
window.easelGallery = new Promise(function (done) {
  try {
    var open = indexedDB.open("easel-gallery");
    open.onupgradeneeded = function () { open.transaction.abort(); };
    open.onerror = function (event) { event.preventDefault(); done(null); };
    open.onsuccess = function () {
      var db = open.result;
      try {
        var list = db.transaction("items").objectStore("items").index("created").getAll();
        list.onsuccess = function () { done({ db: db, items: list.result }); };
        list.onerror = function (event) { event.preventDefault(); done({ db: db, items: null }); };
      } catch (error) {
        done({ db: db, items: null });
      }
    };
  } catch (error) {
    done(null);
  }
});

// The host's defaults (public/config.json, see src/site.rs), fetched alongside the code.
window.easelConfig = fetch("config.json", { cache: "no-cache" })
  .then(function (response) { return response.ok ? response.text() : null; })
  .catch(function () { return null; });
