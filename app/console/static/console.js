// The console's own script: enhancements only. Every page works without it (plain links and forms); with it,
// the flag table follows changes live (an EventSource), kill/on/off confirm in an inline dialog and post with
// fetch, and confirmation counters update in place. No library, no build step.
"use strict";

(function () {
  const csrfToken = () => {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  };

  async function getJson(url) {
    const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) {
      const error = new Error((answer.error && answer.error.message) || "The server answered " + response.status + ".");
      error.status = response.status;
      throw error;
    }
    return answer;
  }

  // A POST of form fields as the browser would send them, with the session's CSRF token as a header.
  async function post(url, fields) {
    const response = await fetch(url, {
      method: "POST",
      body: new URLSearchParams(fields),
      credentials: "same-origin",
      headers: { "X-CSRF-Token": csrfToken(), Accept: "application/json" },
    });
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) {
      const error = new Error((answer.error && answer.error.message) || "The server answered " + response.status + ".");
      error.status = response.status;
      error.field = answer.error && answer.error.field;
      throw error;
    }
    return answer;
  }

  function setLive(state, text) {
    const status = document.getElementById("live-status");
    if (status) {
      status.dataset.state = state;
      status.textContent = text;
    }
  }

  // -- confirmation counters: "2 of 3 SDK instances confirmed revision 12", green once all have ------
  function follow(counter, url, onDone) {
    let stopped = false;
    const started = Date.now();
    const tick = async () => {
      if (stopped) return;
      try {
        const report = await getJson(url);
        counter.textContent = report.text;
        counter.dataset.done = report.done;
        const note = counter.nextElementSibling;
        if (note && note.classList.contains("counter-note")) note.textContent = report.note || "";
        if (report.done !== "false") {
          if (onDone) onDone(report);
          return;
        }
      } catch (error) {
        counter.textContent = error.message;
      }
      // Counting goes on for a while after an SDK lags; the page stays correct if it stops polling.
      if (Date.now() - started < 120000) setTimeout(tick, 300);
    };
    tick();
    return () => { stopped = true; };
  }

  function followCounters() {
    for (const counter of document.querySelectorAll(".counter[data-propagation-url]")) {
      if (counter.dataset.done === "false") follow(counter, counter.dataset.propagationUrl);
    }
  }

  // -- the flag table follows changes: an EventSource names each new revision, and the rows changed since
  //    the one shown are fetched and swapped in ------
  function liveTable(table) {
    const body = table.tBodies[0];
    let revision = Number(table.dataset.revision);
    let fetching = false;
    let wanted = revision;

    async function catchUp() {
      if (fetching) return;
      fetching = true;
      try {
        while (wanted > revision) {
          table.setAttribute("aria-busy", "true");
          const rowsUrl = new URL(table.dataset.rowsUrl, location.href);
          rowsUrl.searchParams.set("since", String(revision));
          const answer = await getJson(rowsUrl);
          if (!answer.complete) {
            location.reload(); // too far behind for the change log: read the page anew
            return;
          }
          const template = document.createElement("template");
          template.innerHTML = answer.rows;
          for (const row of template.content.querySelectorAll("tr[data-key]")) {
            const old = body.querySelector('tr[data-key="' + CSS.escape(row.dataset.key) + '"]');
            row.classList.add("changed");
            if (old) {
              old.replaceWith(row);
            } else {
              insertSorted(body, row);
            }
          }
          for (const key of answer.gone) {
            const old = body.querySelector('tr[data-key="' + CSS.escape(key) + '"]');
            if (old) old.remove();
          }
          revision = Math.max(revision, answer.revision);
          table.dataset.revision = String(revision);
        }
      } catch (error) {
        setLive("lost", error.status === 401 ? "Signed out: reload to sign in" : "Live updates failed: " + error.message);
      } finally {
        table.removeAttribute("aria-busy");
        fetching = false;
      }
    }

    function insertSorted(tbody, row) {
      const empty = document.getElementById("no-match");
      if (empty) empty.remove();
      for (const other of tbody.rows) {
        if (other.dataset.key > row.dataset.key) {
          tbody.insertBefore(row, other);
          return;
        }
      }
      tbody.appendChild(row);
    }

    listen(table.dataset.liveUrl, (notice) => {
      wanted = Math.max(wanted, notice.revision);
      catchUp();
    });
  }

  // The flag page shows one flag in every environment: on a change in any of them, its table is read anew.
  function liveFlagPage(table) {
    let refreshing = false;
    const refresh = async () => {
      if (refreshing) return;
      refreshing = true;
      try {
        const response = await fetch(location.href, { credentials: "same-origin" });
        if (!response.ok) throw new Error("The server answered " + response.status + ".");
        const page = new DOMParser().parseFromString(await response.text(), "text/html");
        const fresh = page.querySelector("#environments tbody");
        if (fresh) table.tBodies[0].replaceWith(document.importNode(fresh, true));
      } catch (error) {
        setLive("lost", "Live updates failed: " + error.message);
      } finally {
        refreshing = false;
      }
    };
    const seen = {};
    for (const row of table.querySelectorAll("tr[data-live-url]")) {
      const url = row.dataset.liveUrl;
      listen(url, (notice) => {
        if (seen[url] !== undefined && notice.revision > seen[url]) refresh();
        seen[url] = Math.max(seen[url] || 0, notice.revision);
      });
    }
  }

  function listen(url, onNotice) {
    const source = new EventSource(url, { withCredentials: true });
    source.onopen = () => setLive("live", "Live");
    source.onmessage = (event) => {
      setLive("live", "Live");
      try {
        onNotice(JSON.parse(event.data));
      } catch (error) {
        /* not a notice: ignore */
      }
    };
    source.onerror = () => {
      // The browser reconnects by itself, unless the server refused the stream (signed out).
      if (source.readyState === EventSource.CLOSED) {
        setLive("lost", "Live updates stopped: reload the page");
      } else {
        setLive("lost", "Reconnecting…");
      }
    };
    return source;
  }

  // -- kill, on and off in a dialog: a reason, a confirmation, then the counter ------
  function switchDialogs() {
    const dialog = document.getElementById("switch-dialog");
    if (!dialog || typeof dialog.showModal !== "function") return; // the links lead to the confirmation page
    const title = document.getElementById("switch-title");
    const what = document.getElementById("switch-what");
    const reason = document.getElementById("switch-reason");
    const required = document.getElementById("switch-required");
    const error = document.getElementById("switch-error");
    const confirm = document.getElementById("switch-confirm");
    const inputs = document.getElementById("switch-inputs");
    const result = document.getElementById("switch-result");
    const counter = document.getElementById("switch-counter");
    const note = document.getElementById("switch-note");
    const verbs = { kill: "Kill", on: "Turn on", off: "Turn off" };
    let current = null;
    let stop = null;

    document.addEventListener("click", (event) => {
      const link = event.target.closest("a[data-switch]");
      if (!link || event.ctrlKey || event.metaKey || event.shiftKey) return;
      event.preventDefault();
      current = { url: link.getAttribute("href"), action: link.dataset.switch, opener: link };
      const verb = verbs[current.action];
      title.textContent = verb + " " + link.dataset.flag + " in " + link.dataset.environment + "?";
      what.textContent = current.action === "kill"
        ? "A kill turns the flag off at once: every SDK serves its off variation."
        : "Every connected SDK applies the change within a second.";
      required.textContent = current.action === "kill" ? "(required: it goes in the audit log)" : "(optional)";
      reason.value = "";
      reason.required = current.action === "kill";
      reason.removeAttribute("aria-invalid");
      error.hidden = true;
      confirm.textContent = verb;
      confirm.className = current.action === "kill" ? "danger" : "primary";
      confirm.disabled = false;
      inputs.hidden = false;
      result.hidden = true;
      counter.dataset.done = "false";
      dialog.showModal();
      reason.focus();
    });

    dialog.querySelector("form").addEventListener("submit", async (event) => {
      event.preventDefault();
      if (!current) return;
      if (current.action === "kill" && !reason.value.trim()) {
        showError("A kill needs a reason: it goes in the audit log with your name.");
        return;
      }
      confirm.disabled = true;
      confirm.textContent = "Working…";
      try {
        const answer = await post(current.url, { reason: reason.value });
        inputs.hidden = true;
        result.hidden = false;
        counter.textContent = answer.message + " Waiting for SDK instances…";
        note.textContent = "";
        stop = follow(counter, answer.counter_url, (report) => { note.textContent = report.note || ""; });
        document.getElementById("switch-close").focus();
      } catch (failure) {
        confirm.disabled = false;
        confirm.textContent = verbs[current.action];
        showError(failure.message);
      }
    });

    function showError(message) {
      error.textContent = message;
      error.hidden = false;
      reason.setAttribute("aria-invalid", "true");
      reason.focus();
    }

    const close = () => dialog.close();
    document.getElementById("switch-cancel").addEventListener("click", close);
    document.getElementById("switch-close").addEventListener("click", close);
    dialog.addEventListener("close", () => {
      if (stop) stop();
      stop = null;
      if (current && current.opener) {
        // The live update may have replaced the row: focus the same flag's first switch in its new row.
        const row = current.opener.closest("tr");
        const key = row && (row.dataset.key || row.dataset.environment);
        const attribute = row && row.dataset.key ? "data-key" : "data-environment";
        const again = key && document.querySelector("tr[" + attribute + '="' + CSS.escape(key) + '"] a[data-switch]');
        if (document.contains(current.opener)) current.opener.focus();
        else if (again) again.focus();
      }
      current = null;
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    const table = document.getElementById("flags");
    if (table && table.dataset.liveUrl) liveTable(table);
    const environments = document.getElementById("environments");
    if (environments) liveFlagPage(environments);
    // An empty list has no rows to swap: the first change (a flag created) reloads it.
    for (const empty of document.querySelectorAll("[data-reload-url]")) {
      const shown = Number(empty.dataset.revision);
      listen(empty.dataset.reloadUrl, (notice) => { if (notice.revision > shown) location.reload(); });
    }
    switchDialogs();
    followCounters();
  });

  window.FlagstaffConsole = { post, getJson, csrfToken };
})();
