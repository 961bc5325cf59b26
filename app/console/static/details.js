// The flag page's own enhancement: through its environment's live stream (the EventSource the flag list
// reads too) it learns that the flag changed elsewhere, and says so with a link to reload. It never reloads by
// itself, so nothing typed in a form is lost; without JavaScript the page is simply not live.
"use strict";

(function () {
  const notice = document.getElementById("flag-changed");
  if (!notice || typeof EventSource !== "function") return;
  const shown = Number(notice.dataset.version);
  let revision = Number(notice.dataset.revision);
  let checking = false;

  async function check() {
    if (checking) return;
    checking = true;
    try {
      const response = await fetch(notice.dataset.versionUrl, {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      });
      if (!response.ok) return;
      const answer = await response.json();
      if (answer.version !== shown) {
        notice.querySelector("[data-now]").textContent = String(answer.version);
        notice.hidden = false;
      }
    } finally {
      checking = false;
    }
  }

  const source = new EventSource(notice.dataset.liveUrl, { withCredentials: true });
  source.onmessage = (event) => {
    let data;
    try {
      data = JSON.parse(event.data);
    } catch (error) {
      return; // not a notice
    }
    // The first notice names the current revision: a change made while the page loaded shows too.
    if (typeof data.revision === "number" && data.revision >= revision) {
      revision = data.revision;
      check();
    }
  };
})();
