/* The live console: one stream's recent events (rendered by the server), then the live ones,
 * its subscription's state, and a form that publishes test events to the stream. */
(function () {
  "use strict";

  const panel = document.getElementById("console");
  const stream = panel.dataset.stream;
  const list = document.getElementById("events");
  const empty = panel.querySelector(".empty");
  const stateBadge = document.getElementById("state");
  const stateMessage = document.getElementById("state-message");
  // Once refused or ended, the subscription's own states (the shared socket may well be
  // "open") no longer describe what this console shows.
  let settled = stateBadge.dataset.state === "refused";

  const showLiveState = (state) => {
    if (!settled) demo.showState(stateBadge, state);
  };
  const settle = (state, message) => {
    settled = true;
    demo.showState(stateBadge, state);
    stateMessage.textContent = message;
    stateMessage.hidden = false;
  };
  const append = (item) => {
    list.append(item);
    empty.hidden = true;
  };

  if (panel.hasAttribute("data-watch")) {
    const subscription = live.subscribe(stream, {
      onEvent: (event) => append(demo.renderEvent(event)),
      onResync(info) {
        const line = document.createElement("li");
        line.className = "resync";
        line.textContent = `resync to #${info.seq} (${info.reason})`;
        append(line);
      },
      onError(error) {
        const reason = error.code || `HTTP ${error.status}`;
        settle("refused", `You may not read this stream: the server refused the subscription (${reason}).`);
      },
    });
    const source = subscription instanceof live.EventStream ? subscription : live.client();
    showLiveState(source.state);
    source.on("state", showLiveState);
    live.on("ended", () => {
      if (subscription instanceof live.EventStream) subscription.close();
      settle("closed", "Your session ended: sign in again to keep watching.");
    });
  }

  const form = document.getElementById("publish");
  if (!form) return;
  const result = document.getElementById("publish-result");
  const showFieldError = (name, message) => {
    const error = document.getElementById(`${name}-error`);
    error.textContent = message || "";
    error.hidden = !message;
    form.elements[name].setAttribute("aria-invalid", String(Boolean(message)));
  };

  form.addEventListener("submit", async (submit) => {
    submit.preventDefault();
    showFieldError("type", null);
    showFieldError("data", null);
    result.textContent = "";
    let data;
    try {
      data = JSON.parse(form.elements.data.value || "null");
    } catch (error) {
      showFieldError("data", "This is not valid JSON.");
      return;
    }
    const response = await fetch(`/api/streams/${encodeURIComponent(stream)}/events/`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRFToken": form.csrfmiddlewaretoken.value },
      body: JSON.stringify({ event: form.elements.type.value, data }),
    });
    const body = await response.json().catch(() => ({}));
    if (response.ok) {
      result.textContent = `Published #${body.seq}`;
    } else if (body.event || body.data) {
      showFieldError("type", body.event && [].concat(body.event).join(" "));
      showFieldError("data", body.data && [].concat(body.data).join(" "));
    } else {
      result.textContent = `Refused (${response.status}): ${body.detail || response.statusText}`;
    }
  });
})();
