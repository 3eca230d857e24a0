/* The rooms list: each room's unread count and latest message, as rendered, then live: new
 * messages by others count up, and `chat.unread` (you read a room, in any tab) sets the count. */
(function () {
  "use strict";
  const rooms = document.getElementById("rooms");
  const me = Number(rooms.dataset.user);

  function roomState(item) {
    const badge = item.querySelector(".room-unread");
    return {
      item,
      badge,
      readSeq: Number(item.dataset.readSeq) || 0,
      unread: Number(badge.textContent) || 0,
      counted: new Map(),
      latestId: item.dataset.latestId ? Number(item.dataset.latestId) : null,
    };
  }

  const states = new Map([...rooms.querySelectorAll(".room-item")].map((item) => [item.dataset.room, roomState(item)]));

  function showUnread(state) {
    state.badge.textContent = String(state.unread);
    state.badge.hidden = state.unread <= 0;
    state.item.classList.toggle("has-unread", state.unread > 0);
  }

  function showLatest(state, message) {
    state.latestId = message.id;
    const latest = state.item.querySelector(".room-latest");
    const author = document.createElement("strong");
    author.className = "room-latest-author";
    author.textContent = message.author ? message.author.name : "someone";
    const body = document.createElement("span");
    body.className = "room-latest-body";
    body.textContent = message.body;
    latest.replaceChildren(author, " ", body);
    const time = state.item.querySelector(".room-time");
    const at = new Date(message.created_at);
    time.dateTime = message.created_at;
    time.textContent = Number.isNaN(at.getTime()) ? "" : at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", hour12: false });
  }

  function onRoomEvent(state, event) {
    const data = event.data || {};
    if (event.event === "chat.message") {
      const seq = typeof data.seq === "number" ? data.seq : event.seq;
      showLatest(state, data);
      const mine = data.author && data.author.id === me;
      if (!mine && seq > state.readSeq && !state.counted.has(data.id)) {
        state.counted.set(data.id, seq);
        state.unread += 1;
        showUnread(state);
      }
    } else if (event.event === "chat.edited" && data.id === state.latestId) {
      state.item.querySelector(".room-latest-body").textContent = data.body;
    } else if (event.event === "chat.deleted" && state.counted.delete(data.id)) {
      state.unread = Math.max(0, state.unread - 1);
      showUnread(state);
    }
  }

  states.forEach((state) => {
    live.subscribe(state.item.dataset.stream, {
      onEvent: (event) => onRoomEvent(state, event),
      onResync: () => location.reload(),
    });
  });

  live.subscribe(rooms.dataset.userStream, {
    onEvent: (event) => {
      if (event.event !== "chat.unread") return;
      const state = states.get(event.data.room);
      if (!state) return;
      state.readSeq = Math.max(state.readSeq, event.data.read_seq);
      for (const [id, seq] of state.counted) if (seq <= state.readSeq) state.counted.delete(id);
      state.unread = event.data.unread;
      showUnread(state);
    },
  });
})();
