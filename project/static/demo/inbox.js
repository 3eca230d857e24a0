/* The inbox page: after any change to the user's notifications (here, in another tab, or
 * from the server) it re-renders its list from the server, so it always shows the truth. */
(function () {
  "use strict";
  const inbox = document.querySelector("[data-inbox]");
  const stream = document.querySelector("[data-notification-bell]").dataset.stream;
  let refreshing = null;

  function refresh() {
    if (refreshing) return refreshing;
    refreshing = fetch(location.href, { credentials: "same-origin" })
      .then((response) => (response.ok ? response.text() : null))
      .then((html) => {
        if (!html) return;
        const page = new DOMParser().parseFromString(html, "text/html");
        const fresh = page.querySelector("[data-inbox]");
        if (fresh) inbox.replaceChildren(...fresh.childNodes);
      })
      .finally(() => { refreshing = null; });
    return refreshing;
  }

  live.subscribe(stream, {
    transport: "websocket",
    onEvent: (event) => { if (event.event.startsWith("notification.")) refresh(); },
  });
})();
