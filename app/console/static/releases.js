// The release pages' script, beside console.js: a plans table (`data-plans-url`) asks for its rows again when
// the environment's live stream (`data-live-url`) names a new revision, and every 2 s while a plan in it is
// running or paused (a guard's check, a pause or a resume moves no revision). Without it the pages still work:
// a reload shows where each plan stands.
"use strict";

(function () {
  const POLL_MS = 2000;

  function setLive(state, text) {
    const status = document.getElementById("live-status");
    if (status) {
      status.dataset.state = state;
      status.textContent = text;
    }
  }

  function followPlans(table) {
    const body = table.tBodies[0];
    let timer = null;
    let fetching = false;
    let again = false;

    async function refresh() {
      if (fetching) {
        again = true;
        return;
      }
      fetching = true;
      clearTimeout(timer);
      try {
        const answer = await window.FlagstaffConsole.getJson(table.dataset.plansUrl);
        if (body.innerHTML !== answer.html) {
          // Keyboard focus stays on the same action of the same plan across the swap.
          const focused = document.activeElement && body.contains(document.activeElement) ? document.activeElement.id : "";
          body.innerHTML = answer.html;
          if (focused && document.getElementById(focused)) document.getElementById(focused).focus();
        }
        table.dataset.active = answer.active ? "true" : "false";
        table.removeAttribute("data-error");
      } catch (error) {
        table.dataset.error = error.message;
        if (error.status === 401) setLive("lost", "Signed out: reload to sign in");
      } finally {
        fetching = false;
      }
      if (again) {
        again = false;
        refresh();
      } else if (table.dataset.active === "true") {
        timer = setTimeout(refresh, POLL_MS);
      }
    }

    if (table.dataset.liveUrl) {
      const source = new EventSource(table.dataset.liveUrl, { withCredentials: true });
      let seen = Number(table.dataset.revision || "0");
      source.onopen = () => setLive("live", "Live");
      source.onmessage = (event) => {
        setLive("live", "Live");
        let notice = null;
        try {
          notice = JSON.parse(event.data);
        } catch (error) {
          return; // not a notice
        }
        if (notice.revision > seen) refresh();
        seen = Math.max(seen, notice.revision);
      };
      source.onerror = () => {
        setLive("lost", source.readyState === EventSource.CLOSED ? "Live updates stopped: reload the page" : "Reconnecting…");
      };
    }
    if (table.dataset.active === "true") timer = setTimeout(refresh, POLL_MS);
  }

  document.addEventListener("DOMContentLoaded", () => {
    for (const table of document.querySelectorAll("table[data-plans-url]")) followPlans(table);
  });
})();
