/* Shared by every signed-in page: how an event is shown, state pills, and the header's
 * connection state and "session ended" banner. */
(function () {
  "use strict";

  const eventTemplate = document.getElementById("event-template");

  /* The line an event shows; the event_text template filter does the same for history. */
  function eventText(data) {
    if (data && typeof data === "object" && !Array.isArray(data)) {
      for (const key of ["title", "text"]) if (typeof data[key] === "string") return data[key];
      const notification = data.notification;
      if (notification && typeof notification === "object") {
        return [notification.actor, notification.verb, notification.target].filter(Boolean).join(" ");
      }
      if (typeof data.unread_count === "number") return `${data.unread_count} unread`;
    }
    if (typeof data === "string") return data;
    return data === null || data === undefined ? "" : JSON.stringify(data);
  }

  /* A live event as the same markup the server renders for history (includes/event.html). */
  function renderEvent(event) {
    const item = eventTemplate.content.firstElementChild.cloneNode(true);
    if (event.seq !== null) item.dataset.seq = event.seq;
    item.dataset.event = event.event;
    item.querySelector(".event-seq").textContent = event.seq === null ? "" : "#" + event.seq;
    item.querySelector(".event-type").textContent = event.event;
    item.querySelector(".event-text").textContent = eventText(event.data);
    const time = item.querySelector(".event-time");
    time.dateTime = event.at;
    time.textContent = event.at.slice(11, 19);
    return item;
  }

  function showState(element, state, label) {
    element.dataset.state = state;
    element.textContent = label || state;
  }

  window.demo = { eventText, renderEvent, showState };

  const connection = document.getElementById("connection");
  const connectionLabels = { open: "live", resyncing: "catching up", closed: "disconnected" };
  const showConnection = (state) => showState(connection, state, connectionLabels[state]);
  const client = live.client();
  showConnection(client.state);
  client.on("state", showConnection);
  client.on("ended", () => {
    showState(connection, "closed", "signed out");
    document.getElementById("session-ended").hidden = false;
  });
})();
