// Small progressive enhancements; every page works without them.
"use strict";

// Re-render a live fragment (the operations board, my orders) every few seconds.
function keepFresh(el) {
  const url = el.dataset.refresh;
  const every = Number(el.dataset.every || 3000);
  async function tick() {
    const busy = el.contains(document.activeElement) && document.activeElement !== document.body;
    if (!document.hidden && !busy) {
      try {
        const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } });
        if (response.redirected || response.status === 401) {
          window.location.reload(); // logged out meanwhile: let the page send us to the login form
          return;
        }
        if (response.ok) {
          el.innerHTML = await response.text();
          el.classList.remove("stale");
          el.dataset.refreshedAt = String(Date.now());
        } else {
          el.classList.add("stale");
        }
      } catch (err) {
        el.classList.add("stale");
      }
    }
    window.setTimeout(tick, every);
  }
  window.setTimeout(tick, every);
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-refresh]").forEach(keepFresh);
  document.querySelectorAll("select[data-autosubmit]").forEach((select) => {
    select.addEventListener("change", () => select.form.submit());
  });
  const firstScan = document.querySelector(".scan-form input[name=barcode]");
  if (firstScan) firstScan.focus();
});
