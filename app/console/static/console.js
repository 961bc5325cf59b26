// The console's own script: enhancements only. Every page works without it (plain links and forms); with it,
// the flag table follows changes live (an EventSource), switches confirm in an inline dialog and post with
// fetch, and the propagation counter updates in place. No library, no build step.
"use strict";

(function () {
  const csrfToken = () => {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  };

  // A POST of a form's fields as the browser would send them, plus the session's CSRF token as a header.
  async function post(url, data) {
    const body = new URLSearchParams(data);
    const response = await fetch(url, {
      method: "POST",
      body,
      credentials: "same-origin",
      headers: { "X-CSRF-Token": csrfToken(), Accept: "application/json" },
    });
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) {
      const error = answer.error || {};
      throw new Error(error.message || "The server answered " + response.status + ".");
    }
    return answer;
  }

  window.FlagstaffConsole = { post, csrfToken };
  document.dispatchEvent(new CustomEvent("console:ready"));
})();
