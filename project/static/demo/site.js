/* Shared by every signed-in page: how an event is shown, state pills, and the header's
 * connection state, notification bell and "session ended" banner. */
(function () {
  "use strict";

  const eventTemplate = document.getElementById("event-template");

  /* The line an event shows; the event_text template filter does the same for history. */
  function eventText(data) {
    if (data && typeof data === "object" && !Array.isArray(data)) {
      for (const key of ["title", "text"]) if (typeof data[key] === "string") return data[key];
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

  const bell = document.getElementById("bell");
  const bellCount = document.getElementById("bell-count");
  const bellPanel = document.getElementById("bell-panel");
  let unseen = 0;

  function showUnseen() {
    bellCount.textContent = unseen > 99 ? "99+" : String(unseen);
    bellCount.hidden = unseen === 0;
    bell.setAttribute("aria-label", unseen ? `Notifications (${unseen} new)` : "Notifications");
  }

  function countNotification(event) {
    if (!event.event.startsWith("notification.")) return;
    unseen += 1;
    showUnseen();
    document.getElementById("bell-list").prepend(renderEvent(event));
    document.getElementById("bell-empty").hidden = true;
  }

  function openPanel(open) {
    bellPanel.hidden = !open;
    bell.setAttribute("aria-expanded", String(open));
    if (open) {
      unseen = 0;
      showUnseen();
    }
  }

  bell.addEventListener("click", () => openPanel(bellPanel.hidden));
  document.addEventListener("click", (click) => {
    if (!bellPanel.hidden && !bell.parentElement.contains(click.target)) openPanel(false);
  });
  document.addEventListener("keydown", (key) => {
    if (key.key === "Escape" && !bellPanel.hidden) openPanel(false);
  });

  live.subscribe(bell.dataset.stream, { transport: "websocket", onEvent: countNotification });

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
