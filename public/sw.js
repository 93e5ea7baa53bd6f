// Easel's service worker: the app shell from a cache, so the studio and the gallery open
// offline. A template: `cargo xtask build` (xtask/src/bundle.rs) writes it into dist/ with
// the build's file names and a version, the hash of those files. Debug builds and the browser
// tests have none, and nothing registers one there.
//
// - Every file of the build is cached when the worker installs, under `easel-<version>`; the
//   previous version's cache is deleted once the new worker takes over.
// - The page's navigations (`/`, `/gallery`, `/shared#…`) get the cached index.html: the app
//   routes on the client, and a reload works with the server gone.
// - config.json is asked of the network first (a host may edit it without a rebuild), with
//   the cached copy when there is no answer.
// - Nothing else is touched: requests that are not GET, other origins (an API the user
//   chose), and the relay's own routes (/v1/…, /healthz, /readyz) go to the network as if
//   there were no worker, and are never cached.
// - A new version waits until the page asks it to take over (the "new version" banner,
//   public/pwa.js): a page never runs with files of two versions.

const VERSION = "{{version}}";
const FILES = ["{{files}}"];
const CACHE = "easel-" + VERSION;
// The app's own index.html, as the host serves the site's root.
const SHELL = "./";
const CONFIG = "config.json";

self.addEventListener("install", (event) => {
  // Revalidated, so a host's HTTP cache cannot hand over a file of the previous version.
  const requests = FILES.map((file) => new Request(file, { cache: "no-cache" }));
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(requests)));
});

self.addEventListener("activate", (event) => {
  const old = (key) => key.startsWith("easel-") && key !== CACHE;
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter(old).map((key) => caches.delete(key))))
      // The first version serves the page that installed it at once (its chunks included).
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("message", (event) => {
  if (event.data === "activate") {
    self.skipWaiting();
  }
});

self.addEventListener("fetch", (event) => {
  const file = cachedFile(event.request);
  if (file === CONFIG) {
    event.respondWith(networkFirst(event, file));
  } else if (file !== null) {
    event.respondWith(cacheFirst(event.request, file));
  }
});

// The cached file that answers `request`, or null for the network alone.
function cachedFile(request) {
  if (request.method !== "GET") {
    return null;
  }
  const url = new URL(request.url);
  const scope = new URL(self.registration.scope);
  if (url.origin !== scope.origin || !url.pathname.startsWith(scope.pathname)) {
    return null;
  }
  const path = url.pathname.slice(scope.pathname.length);
  if (/^(v1\/|healthz$|readyz$)/.test(path)) {
    return null;
  }
  // A page of the app (no file name extension, like the relay's fallback) is index.html.
  const last = path.split("/").pop();
  if (path === "" || path === "index.html" || (request.mode === "navigate" && !last.includes("."))) {
    return SHELL;
  }
  return FILES.includes(path) ? path : null;
}

function cacheFirst(request, file) {
  return caches
    .open(CACHE)
    .then((cache) => cache.match(file))
    .then((hit) => hit || fetch(request));
}

function networkFirst(event, file) {
  return fetch(event.request).then(
    (response) => {
      if (response.ok) {
        const copy = response.clone();
        event.waitUntil(caches.open(CACHE).then((cache) => cache.put(file, copy)));
      }
      return response;
    },
    (offline) => caches
      .open(CACHE)
      .then((cache) => cache.match(file))
      .then((hit) => hit || Promise.reject(offline)),
  );
}
