// Registers the service worker (sw.js) and offers a new version once one is installed and
// waiting. `cargo xtask build` writes this into release builds only, and their start script
// imports it after the page's `load` event (xtask/src/bundle.rs): none of it is part of the
// first load, and debug builds register no worker.
//
// The banner is plain DOM rather than part of the app: it costs the app's code nothing, and it
// still works when the app has stopped (a new version may be the fix).

const workers = navigator.serviceWorker;

if (workers) {
  workers.register("sw.js").then(
    (registration) => {
      // The browser may have found the new version before this ran, or finds it now.
      track(registration.waiting);
      track(registration.installing);
      registration.addEventListener("updatefound", () => track(registration.installing));
      // Offline an update check fails, which is no error: the cached version keeps running.
      const check = () => registration.update().catch(() => {});
      if (workers.controller) {
        check();
      }
      // A tab left open for days still hears of a new version.
      setInterval(check, 3600 * 1000);
    },
    (error) => console.warn("Easel cannot work offline in this browser:", error),
  );
}

// Offers `worker` once it is installed and waits. Without a controller it is the first
// version, which takes over by itself.
function track(worker) {
  if (!worker) {
    return;
  }
  const ready = () => {
    if (worker.state === "installed" && workers.controller) {
      offer(worker);
    }
  };
  worker.addEventListener("statechange", ready);
  ready();
}

const STYLE =
  "#update-banner{position:fixed;z-index:20;left:50%;bottom:var(--space-4);" +
  "transform:translateX(-50%);box-sizing:border-box;width:max-content;" +
  "max-width:calc(100% - 2 * var(--space-4));display:flex;flex-wrap:wrap;align-items:center;" +
  "gap:var(--space-3);padding:var(--space-3) var(--space-4);background:var(--surface);" +
  "color:var(--text);border:1px solid var(--border);border-radius:var(--radius);" +
  "box-shadow:0 4px 16px rgb(0 0 0 / 0.2)}" +
  "#update-banner span{flex:1 1 14em}";

// Shows the banner for `worker`, a new version waiting to take over.
function offer(worker) {
  if (document.getElementById("update-banner")) {
    return;
  }
  const style = document.createElement("style");
  style.textContent = STYLE;
  const banner = document.createElement("div");
  banner.id = "update-banner";
  banner.setAttribute("role", "status");
  const text = document.createElement("span");
  text.textContent = "A new version of Easel is ready.";
  const reload = button("Reload", "primary");
  const later = button("Not now", "later");
  reload.addEventListener("click", () => {
    reload.disabled = true;
    if (worker.state !== "installed") {
      // Another tab let it take over already.
      location.reload();
      return;
    }
    // This page keeps running until the new version has taken over, then starts again
    // with it; generations still running come back as interrupted, with Retry.
    workers.addEventListener("controllerchange", () => location.reload());
    worker.postMessage("activate");
  });
  later.addEventListener("click", () => banner.remove());
  banner.append(text, reload, later);
  document.head.append(style);
  document.body.append(banner);
}

function button(label, className) {
  const element = document.createElement("button");
  element.type = "button";
  element.className = className;
  element.textContent = label;
  return element;
}
