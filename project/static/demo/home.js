/* The home page's cards: each lists its stream's recent events (rendered by the server), then
 * prepends the live ones. The page's cursors make the subscriptions start after the render. */
(function () {
  "use strict";

  document.querySelectorAll(".feed").forEach((feed) => {
    const stream = feed.dataset.stream;
    const list = feed.querySelector(".events");
    const empty = feed.querySelector(".empty");
    const show = (event) => {
      list.prepend(demo.renderEvent(event));
      empty.hidden = true;
    };
    live.subscribe(stream, {
      transport: "websocket",
      onEvent: show,
      onResync(info) {
        // The events after our cursor are gone: show the latest ones again, then go on live.
        const since = Math.max(0, info.seq - 10);
        return fetch(`/api/streams/${encodeURIComponent(stream)}/events/?since=${since}`)
          .then((response) => response.json())
          .then((page) => {
            list.replaceChildren();
            page.events.forEach(show);
          });
      },
    });
  });
})();
