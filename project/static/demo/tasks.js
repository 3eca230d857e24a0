/* A run's page: notifications/tasks.js keeps its bar and output live; this shows the outcome
 * when the run ends and sends the Cancel button's request without leaving the page. */
(function () {
  "use strict";

  const panel = document.getElementById("run");
  if (!panel) return;
  const runId = panel.dataset.run;
  const cancel = document.getElementById("cancel");
  const cancelError = document.getElementById("cancel-error");
  const outcome = document.getElementById("outcome");
  const REASONS = {
    exception: "The task raised an error.",
    worker_lost: "The worker running it stopped responding.",
    enqueue_failed: "It could not be queued.",
    interrupted: "Its worker was stopped while it ran.",
  };

  const element = (tag, className, text) => {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  };
  const heading = (text) => {
    const head = element("header", "card-head");
    head.append(element("h2", "", text));
    return head;
  };
  const capitalized = (text) => text.charAt(0).toUpperCase() + text.slice(1);
  const shown = (value) => (typeof value === "string" ? value : JSON.stringify(value));

  /* The same markup as templates/tasks/outcome.html. */
  function result(value) {
    if (value && typeof value === "object" && !Array.isArray(value) && Object.keys(value).length) {
      const list = element("dl", "result");
      for (const [key, item] of Object.entries(value)) {
        const row = element("div");
        row.append(element("dt", "", capitalized(key)), element("dd", "", shown(item)));
        list.append(row);
      }
      return list;
    }
    if (value === null || value === undefined) return element("p", "muted", "Done, with nothing to report.");
    return element("pre", "result-value", shown(value));
  }

  function showOutcome(status, data) {
    const parts = [];
    if (status === "succeeded") {
      parts.push(heading("Result"), result(data.result));
    } else if (status === "failed") {
      const error = data.error || {};
      const detail = element("p", "outcome-error");
      detail.append(element("code", "", error.type || "Error"), " " + (error.message || ""));
      parts.push(heading("Failed"), element("p", "outcome-reason", REASONS[data.reason] || REASONS.exception), detail);
    } else {
      const fraction = data.progress && data.progress.fraction;
      const at = typeof fraction === "number" ? `, at ${Math.floor(fraction * 100)}%` : "";
      parts.push(heading("Cancelled"), element("p", "outcome-reason", `Stopped before it finished${at}.`));
    }
    outcome.replaceChildren(...parts);
    outcome.dataset.status = status;
    outcome.hidden = false;
  }

  function showCancelling() {
    if (!cancel) return;
    const button = cancel.querySelector("button");
    button.disabled = true;
    button.textContent = "Cancelling…";
  }

  document.addEventListener("live-task:state", (event) => {
    if (event.detail.runId === runId && event.detail.status === "cancelling") showCancelling();
  });
  document.addEventListener("live-task:done", (event) => {
    if (event.detail.runId !== runId) return;
    if (cancel) cancel.hidden = true;
    showOutcome(event.detail.status, event.detail.data);
  });

  if (cancel) {
    cancel.addEventListener("submit", async (submit) => {
      submit.preventDefault();
      const button = cancel.querySelector("button");
      button.disabled = true;
      cancelError.hidden = true;
      try {
        const response = await fetch(cancel.action, {
          method: "POST",
          headers: { Accept: "application/json", "X-CSRFToken": cancel.elements.csrfmiddlewaretoken.value },
          credentials: "same-origin",
        });
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        showCancelling();
      } catch (error) {
        button.disabled = false;
        cancelError.textContent = "The run could not be cancelled right now. Try again in a moment.";
        cancelError.hidden = false;
      }
    });
  }
})();
