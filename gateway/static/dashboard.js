// The dashboard's behaviour: live updates, local times, chart read-outs and the year switcher.
//
// It polls /api/status, every 1.5 s while a sync is under way and every 15 s otherwise (not at
// all while the tab is hidden). Progress and the "Sync now" button are patched in place; when
// the status says the content changed (a sync ended, a file was written, an error...), the
// page's live part is fetched again from /dashboard/live and replaced as a whole.
(function () {
  "use strict";
  var ACTIVE_POLL_MS = 1500;
  var IDLE_POLL_MS = 15000;
  var ACTIVE_STATES = ["queued", "syncing", "waiting", "uploading", "deleting"];
  var KINDS = ["commits", "pull_requests", "issues", "reviews"];
  var KIND_WORDS = {
    commits: ["commit", "commits"],
    pull_requests: ["pull request", "pull requests"],
    issues: ["issue", "issues"],
    reviews: ["review", "reviews"]
  };
  var $ = function (id) { return document.getElementById(id); };

  // ---- confirmations (delegated: forms come and go with the live part) ----------------------
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) event.preventDefault();
  });

  // ---- times in the member's local time ------------------------------------------------------
  function sameDay(a, b) {
    return a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() &&
      a.getDate() === b.getDate();
  }

  var DATE_UTC = { timeZone: "UTC", day: "numeric", month: "short", year: "numeric" };
  var DAY_UTC = { timeZone: "UTC", weekday: "short", day: "numeric", month: "short", year: "numeric" };

  function localTime(element) {
    var value = element.getAttribute("datetime");
    var style = element.getAttribute("data-style");
    var text = null;
    if (style === "calendar" || style === "day") {
      // A calendar date (the file's days and weeks are UTC dates): never shifted by a zone.
      var day = new Date(value.slice(0, 10) + "T00:00:00Z");
      text = day.toLocaleDateString(undefined, style === "day" ? DAY_UTC : DATE_UTC);
    } else {
      var at = new Date(value);
      if (isNaN(at.getTime())) return;
      if (style === "date") {
        text = at.toLocaleDateString(undefined, { day: "numeric", month: "short", year: "numeric" });
      } else if (style === "time") {
        var clock = at.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
        text = sameDay(at, new Date()) ? clock + " your time"
          : at.toLocaleDateString(undefined, { weekday: "short", day: "numeric", month: "short" }) +
            ", " + clock + " your time";
      } else {
        text = at.toLocaleString(undefined, {
          day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit"
        });
      }
    }
    if (text) element.textContent = text;
  }

  // On a phone the charts scroll sideways: show the latest weeks first.
  function scrollChartsToLatest(root) {
    root.querySelectorAll(".chart-scroll").forEach(function (wrap) {
      wrap.scrollLeft = wrap.scrollWidth;
    });
  }

  function localizeTimes(root) {
    root.querySelectorAll("time[data-style]").forEach(localTime);
  }

  // ---- heatmap: a read-out per day, by pointer or arrow keys ---------------------------------
  function plural(count, words) { return count + " " + (count === 1 ? words[0] : words[1]); }

  function dayWords(rect) {
    var date = new Date(rect.getAttribute("data-date") + "T00:00:00Z")
      .toLocaleDateString(undefined, DAY_UTC);
    var count = rect.getAttribute("data-count");
    if (rect.getAttribute("class") === "lx") return date + ": outside your history";
    if (count === "") return date + ": not known (imported history)";
    return (count === "0" ? "No contributions" : plural(+count, ["contribution", "contributions"])) +
      " on " + date;
  }

  // Positions are set through the CSSOM, which the Content-Security-Policy allows (a style
  // attribute in the markup it would not). ``inside``: over the top of the target, not above it.
  function placeTip(tip, figure, target, inside) {
    var box = target.getBoundingClientRect();
    var frame = figure.getBoundingClientRect();
    tip.hidden = false;
    var left = box.left - frame.left + box.width / 2 - tip.offsetWidth / 2;
    tip.style.left = Math.max(0, Math.min(left, frame.width - tip.offsetWidth)) + "px";
    var top = inside ? box.top - frame.top + 2 : box.top - frame.top - tip.offsetHeight - 6;
    tip.style.top = top + "px";
  }

  function setUpHeatmap() {
    var figure = $("heatmap");
    var svg = $("heatmap-svg");
    if (!figure || !svg) return;
    var tip = $("heatmap-tip");
    var cursor = $("heatmap-cursor");
    var days = Array.prototype.slice.call(svg.querySelectorAll("rect[data-date]"));
    var index = -1;
    function show(i) {
      index = Math.max(0, Math.min(days.length - 1, i));
      var rect = days[index];
      cursor.setAttribute("x", +rect.getAttribute("x") - 1);
      cursor.setAttribute("y", +rect.getAttribute("y") - 1);
      cursor.setAttribute("visibility", "visible");
      tip.textContent = dayWords(rect);
      placeTip(tip, figure, rect);
    }
    function hide() { tip.hidden = true; cursor.setAttribute("visibility", "hidden"); }
    svg.addEventListener("mouseover", function (event) {
      var i = days.indexOf(event.target);
      if (i >= 0) show(i);
    });
    svg.addEventListener("mouseleave", hide);
    svg.addEventListener("blur", hide);
    svg.addEventListener("focus", function () {
      var last = days.length - 1;
      while (last > 0 && days[last].getAttribute("class") === "lx") last--;
      show(index >= 0 ? index : last);
    });
    svg.addEventListener("keydown", function (event) {
      var moves = { ArrowLeft: -7, ArrowRight: 7, ArrowUp: -1, ArrowDown: 1 };
      if (event.key in moves) {
        event.preventDefault();
        show(index + moves[event.key]);
      } else if (event.key === "Home" || event.key === "End") {
        event.preventDefault();
        show(event.key === "Home" ? 0 : days.length - 1);
      } else if (event.key === "Escape") {
        hide();
      }
    });
  }

  // ---- weekly chart: a read-out per week -----------------------------------------------------
  function setUpWeekly() {
    var figure = $("weekly");
    var svg = $("weekly-svg");
    if (!figure || !svg) return;
    var series = JSON.parse(figure.getAttribute("data-series"));
    var firstDay = new Date(figure.getAttribute("data-first-day") + "T00:00:00Z");
    var weeks = series.commits.length;
    var box = svg.viewBox.baseVal;
    var left = 112, right = box.width;  // gateway.charts.CHART_LEFT and CHART_WIDTH
    var step = (right - left) / Math.max(weeks, 1);
    var tip = $("weekly-tip");
    var cursor = $("weekly-cursor");
    var index = weeks - 1;
    function show(i) {
      index = Math.max(0, Math.min(weeks - 1, i));
      var x = left + (index + 0.5) * step;
      cursor.setAttribute("x1", x);
      cursor.setAttribute("x2", x);
      cursor.setAttribute("visibility", "visible");
      var monday = new Date(firstDay.getTime() + index * 7 * 86400000);
      var parts = KINDS.map(function (kind) { return plural(series[kind][index], KIND_WORDS[kind]); });
      tip.textContent = "Week of " + monday.toLocaleDateString(undefined, DATE_UTC) + ": " +
        parts.join(", ");
      placeTip(tip, figure, cursor, true);
    }
    function hide() { tip.hidden = true; cursor.setAttribute("visibility", "hidden"); }
    svg.addEventListener("mousemove", function (event) {
      var frame = svg.getBoundingClientRect();
      var x = (event.clientX - frame.left) * box.width / frame.width;
      if (x < left) { hide(); return; }
      show(Math.floor((x - left) / step));
    });
    svg.addEventListener("mouseleave", hide);
    svg.addEventListener("blur", hide);
    svg.addEventListener("focus", function () { show(index); });
    svg.addEventListener("keydown", function (event) {
      var moves = { ArrowLeft: -1, ArrowRight: 1, PageUp: -52, PageDown: 52 };
      if (event.key in moves) {
        event.preventDefault();
        show(index + moves[event.key]);
      } else if (event.key === "Home" || event.key === "End") {
        event.preventDefault();
        show(event.key === "Home" ? 0 : weeks - 1);
      } else if (event.key === "Escape") {
        hide();
      }
    });
  }

  // ---- year switcher -------------------------------------------------------------------------
  var chosenYear = null;

  function switchYear(year) {
    return fetch("/dashboard/heatmap?year=" + encodeURIComponent(year), {
      credentials: "same-origin", cache: "no-store"
    }).then(function (response) {
      if (!response.ok) throw new Error("heatmap " + response.status);
      return response.text();
    }).then(function (html) {
      var fresh = parse(html).getElementById("heatmap-box");
      var box = $("heatmap-box");
      if (!fresh || !box) return;
      box.replaceWith(fresh);
      chosenYear = year;
      window.history.replaceState(null, "", "/dashboard?year=" + year + "#activity");
      localizeTimes(fresh);
      scrollChartsToLatest(fresh);
      setUpHeatmap();
      var current = fresh.querySelector("nav.years a.current");
      if (current) current.focus();
    });
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[data-year]");
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey) return;
    event.preventDefault();
    switchYear(link.getAttribute("data-year")).catch(function () {
      window.location.href = link.href;  // the plain link still works
    });
  });

  // ---- live updates --------------------------------------------------------------------------
  function parse(html) {
    var template = document.createElement("template");
    template.innerHTML = html;
    return template.content;
  }

  function replaceLive(html) {
    var fresh = parse(html);
    var live = $("live");
    var freshLive = fresh.getElementById("live");
    if (!live || !freshLive) return;
    var focused = document.activeElement && document.activeElement.id;
    // The headline stays the same element, so that screen readers announce its new words.
    var headline = $("sync-headline");
    var freshHeadline = fresh.getElementById("sync-headline");
    if (headline.innerHTML !== freshHeadline.innerHTML) headline.innerHTML = freshHeadline.innerHTML;
    headline.className = freshHeadline.className;
    $("dashboard-body").replaceWith(fresh.getElementById("dashboard-body"));
    live.setAttribute("data-version", freshLive.getAttribute("data-version"));
    live.setAttribute("data-state", freshLive.getAttribute("data-state"));
    // Messages about what the page looked like before ("Sync queued") no longer apply.
    document.querySelectorAll("main > .flash").forEach(function (flash) { flash.remove(); });
    localizeTimes(live);
    scrollChartsToLatest(live);
    setUpHeatmap();
    setUpWeekly();
    if (focused && $(focused)) $(focused).focus();
  }

  function refreshLive() {
    var url = "/dashboard/live" + (chosenYear ? "?year=" + encodeURIComponent(chosenYear) : "");
    return fetch(url, { credentials: "same-origin", cache: "no-store" }).then(function (response) {
      if (response.status === 401) { window.location.href = "/"; return; }
      if (!response.ok) throw new Error("live " + response.status);
      return response.text().then(replaceLive);
    });
  }

  function patch(status) {
    var bar = $("sync-progress");
    if (bar) bar.value = status.percent;
    var text = $("sync-progress-text");
    if (text) text.textContent = status.progress_text;
    var button = $("sync-now");
    if (button) {
      button.disabled = !status.can_sync_now;
      $("sync-blocked").textContent = status.sync_blocked_reason;
    }
  }

  var timer = null;
  var state = null;

  function schedule() {
    window.clearTimeout(timer);
    if (document.hidden) return;
    var delay = ACTIVE_STATES.indexOf(state) >= 0 ? ACTIVE_POLL_MS : IDLE_POLL_MS;
    timer = window.setTimeout(poll, delay);
  }

  function poll() {
    var live = $("live");
    if (!live) return;
    fetch("/api/status", {
      credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" }
    }).then(function (response) {
      if (response.status === 401) { window.location.href = "/"; return null; }
      if (!response.ok) throw new Error("status " + response.status);
      return response.json();
    }).then(function (status) {
      if (!status) return null;
      state = status.state;
      if (status.version !== live.getAttribute("data-version")) return refreshLive();
      patch(status);
      return null;
    }).catch(function () {
      // Offline or the gateway restarting: the next poll tries again.
    }).then(schedule);
  }

  // A read-out placed for another width would hang in the wrong place (or off a phone).
  window.addEventListener("resize", function () {
    document.querySelectorAll(".tip").forEach(function (tip) { tip.hidden = true; });
    document.querySelectorAll(".cursor").forEach(function (cursor) {
      cursor.setAttribute("visibility", "hidden");
    });
  });

  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) poll();
  });

  var live = $("live");
  localizeTimes(document);
  if (!live) return;
  state = live.getAttribute("data-state");
  // Without a chosen year, a refresh shows the latest (a first sync may add years).
  chosenYear = new URLSearchParams(window.location.search).get("year");
  scrollChartsToLatest(document);
  setUpHeatmap();
  setUpWeekly();
  schedule();
})();
