// Polls /api/status and updates the sync card without reloading the page.
(function () {
  "use strict";
  var POLL_MS = 5000;
  var card = document.getElementById("sync");

  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
    });
  });
  if (!card) return;

  var $ = function (id) { return document.getElementById(id); };
  // States whose page layout differs (buttons appear or go): reload instead of patching.
  var LAYOUT_STATES = ["new", "needs_reconnect", "needs_login"];

  function formatSize(bytes) {
    if (!bytes) return "—";
    var units = ["bytes", "KB", "MB", "GB"], size = bytes, i = 0;
    while (size >= 1024 && i < units.length - 1) { size /= 1024; i++; }
    return i === 0 ? size + " bytes" : size.toFixed(1) + " " + units[i];
  }

  function formatTime(iso) {
    if (!iso) return "never";
    return iso.slice(0, 16).replace("T", " ") + " UTC";
  }

  function render(status) {
    var previous = card.getAttribute("data-state");
    if (previous !== status.state &&
        (LAYOUT_STATES.indexOf(status.state) >= 0 || LAYOUT_STATES.indexOf(previous) >= 0)) {
      window.location.reload();
      return;
    }
    card.setAttribute("data-state", status.state);
    var headline = $("sync-headline");
    headline.textContent = status.headline;
    headline.className = "headline state-" + status.state;
    $("sync-progress-box").hidden = status.state !== "syncing";
    $("sync-progress").value = status.percent;
    $("sync-progress-text").textContent =
      status.weeks_done + " / " + status.weeks_total + " weeks";
    var detail = $("sync-detail");
    detail.textContent = status.detail;
    detail.hidden = !(status.state === "error" && status.detail);
    $("coverage").textContent = status.coverage
      ? status.coverage.first_week + " to " + status.coverage.last_week
      : "nothing uploaded yet";
    $("file-size").textContent = formatSize(status.file_size);
    $("last-synced").textContent = formatTime(status.last_synced_at);
    var button = $("sync-now");
    if (button) {
      button.disabled = !status.can_sync_now;
      $("sync-blocked").textContent = status.sync_blocked_reason;
    }
  }

  function poll() {
    var loading = $("status-loading");
    loading.hidden = false;
    card.setAttribute("aria-busy", "true");
    fetch("/api/status", { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (response.status === 401) { window.location.href = "/"; return null; }
        if (!response.ok) throw new Error("status " + response.status);
        return response.json();
      })
      .then(function (status) { if (status) render(status); })
      .catch(function () {
        $("status-loading").textContent = "offline, retrying…";
      })
      .finally(function () {
        card.removeAttribute("aria-busy");
        window.setTimeout(function () { loading.hidden = true; }, 400);
        window.setTimeout(poll, POLL_MS);
      });
  }

  window.setTimeout(poll, POLL_MS);
})();
