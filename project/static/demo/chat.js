/* A chat room's page: `chat.join` gives the history (and who is here), then the room's stream
 * keeps it live. Messages you send show at once as pending; the live client keeps their frames
 * while offline and sends them again after a reconnect, and the server's ack (or the message's
 * own event) confirms them. Message text is only ever set as text. */
(function () {
  "use strict";

  const HISTORY_LIMIT = 50;
  const TYPING_MARGIN = 150;
  const root = document.getElementById("chat");
  const room = root.dataset.room;
  const stream = root.dataset.stream;
  const me = { id: Number(root.dataset.user), name: root.dataset.username };
  const typingInterval = Number(root.dataset.typingInterval) * 1000;

  const list = document.getElementById("messages");
  const empty = document.getElementById("messages-empty");
  const loading = document.getElementById("messages-loading");
  const typingLine = document.getElementById("typing");
  const presenceList = document.getElementById("presence");
  const presenceEmpty = document.getElementById("presence-empty");
  const composer = document.getElementById("composer");
  const textarea = document.getElementById("composer-text");
  const template = document.getElementById("message-template");

  const { MessageLog, Typing, Presence, typingText } = window.chatLog;
  const log = new MessageLog(me.id);
  const typing = new Typing(3 * typingInterval);
  const presence = new Presence();
  const client = live.client();
  const nodes = new Map();

  let subscription = null;
  let joining = null;
  let loaded = false;
  let rejoin = false;
  let afterHistory = [];
  let readSent = 0;
  let typingSent = -Infinity;
  let typingTimer = null;
  let typingShown = null;

  /* History, and who is here: at first, after a reconnect (presence is not replayed) and
   * after a resync. */
  function join() {
    if (joining === null) joining = client.send({ type: "chat.join", room, limit: HISTORY_LIMIT });
    return new Promise((resolve) => afterHistory.push(resolve));
  }

  function onHistory(frame) {
    const messages = Array.isArray(frame.messages) ? frame.messages : [];
    log.history(messages, frame.seq, messages.length < HISTORY_LIMIT);
    if (Array.isArray(frame.presence)) presence.reset(frame.presence);
    loaded = true;
    if (subscription === null) {
      subscription = client.subscribe(stream, { since: frame.seq, onEvent, onResync: () => join() });
    }
    render({ scroll: true });
    renderPresence();
    markRead();
    settleJoins();
  }

  function settleJoins() {
    const waiting = afterHistory;
    afterHistory = [];
    waiting.forEach((resolve) => resolve());
  }

  function onEvent(event) {
    const data = event.data || {};
    switch (event.event) {
      case "chat.message":
        if (!log.message(stamped(data, event))) return;
        if (data.author) typing.stopped(data.author.id);
        render({ scroll: data.author && data.author.id === me.id });
        renderTyping();
        markRead();
        break;
      case "chat.edited":
        if (log.edited(data)) render();
        break;
      case "chat.deleted":
        if (log.deleted(data)) render();
        break;
      case "chat.typing":
        if (!data.user || data.user.id === me.id) return;
        typing.typing(data.user, Date.now());
        renderTyping();
        break;
      case "presence.join":
        if (presence.join(data.user)) renderPresence();
        break;
      case "presence.leave":
        if (data.user && data.user.id !== me.id && presence.leave(data.user)) {
          typing.stopped(data.user.id);
          renderPresence();
          renderTyping();
        }
        break;
    }
  }

  /* A message's seq is its event's: the event's data may carry none. */
  function stamped(data, event) {
    return typeof data.seq === "number" ? data : { ...data, seq: event.seq };
  }

  client.on("frame", (frame) => {
    if (frame.type === "chat.history" && frame.room === room) onHistory(frame);
  });

  client.on("ack", (frame) => {
    if (frame.client_id === joining) {
      joining = null;
    } else if (log.ack(frame.client_id, frame)) {
      render();
    } else if (log.editAcked(frame.client_id)) {
      render();
    }
  });

  client.on("refused", (frame) => {
    if (frame.client_id === joining) {
      joining = null;
      loading.textContent = frame.message || "This room could not be opened.";
      settleJoins();
    } else if (log.refuse(frame.client_id, refusal(frame))) {
      render();
    } else if (log.editRefused(frame.client_id)) {
      render();
    }
  });

  client.on("state", (state) => {
    if (state === "offline" || state === "connecting") {
      if (loaded) rejoin = true;
    } else if (state === "open" && rejoin) {
      rejoin = false;
      join();
    }
    root.dataset.connection = state;
    render();
  });

  function refusal(frame) {
    if (frame.code === "rate_limited") return "Too many messages at once: not sent.";
    return frame.message || "Not sent.";
  }

  /* Read up to the latest message while the page is in view (never for receipts, whose own
   * events would otherwise be read again). */
  function markRead() {
    if (document.visibilityState !== "visible") return;
    const seq = log.latestSeq();
    if (seq <= readSent) return;
    readSent = seq;
    client.send({ type: "chat.read", room, seq });
  }

  document.addEventListener("visibilitychange", markRead);

  function send(body) {
    const clientId = client.send({ type: "chat.send", room, body });
    log.addPending(clientId, body, { id: me.id, name: me.name });
    render({ scroll: true });
  }

  composer.addEventListener("submit", (submit) => {
    submit.preventDefault();
    const body = textarea.value;
    if (!body.trim()) return;
    textarea.value = "";
    resizeComposer();
    send(body);
  });

  textarea.addEventListener("keydown", (key) => {
    if (key.key === "Enter" && !key.shiftKey && !key.isComposing) {
      key.preventDefault();
      composer.requestSubmit();
    }
  });

  textarea.addEventListener("input", () => {
    resizeComposer();
    announceTyping();
  });

  /* At most one typing frame an interval (the server drops more), the last one at the end
   * of the interval if you are still writing. */
  function announceTyping() {
    if (!textarea.value.trim() || typingTimer !== null) return;
    const wait = typingSent + typingInterval + TYPING_MARGIN - Date.now();
    if (wait > 0) {
      typingTimer = setTimeout(() => {
        typingTimer = null;
        announceTyping();
      }, wait);
      return;
    }
    typingSent = Date.now();
    client.send({ type: "chat.typing", room }, { queue: false });
  }

  function resizeComposer() {
    textarea.style.height = "auto";
    textarea.style.height = Math.min(textarea.scrollHeight, 160) + "px";
  }

  list.addEventListener("click", (click) => {
    const button = click.target.closest("button");
    const node = click.target.closest("li.message");
    if (!button || !node) return;
    const entry = log.entries.get(node.dataset.key);
    if (!entry) return;
    if (button.classList.contains("message-edit")) {
      openEditor(node, entry);
    } else if (button.classList.contains("message-editor-cancel")) {
      closeEditor(node);
    } else if (button.classList.contains("message-delete") && entry.id !== null) {
      client.send({ type: "chat.delete", room, id: entry.id });
    } else if (button.classList.contains("message-retry") && log.retry(entry.clientId)) {
      client.send({ type: "chat.send", room, body: entry.body, client_id: entry.clientId });
      render();
    }
  });

  list.addEventListener("submit", (submit) => {
    submit.preventDefault();
    const node = submit.target.closest("li.message");
    const entry = node && log.entries.get(node.dataset.key);
    if (!entry || entry.id === null) return;
    const body = node.querySelector(".message-editor-text").value;
    closeEditor(node);
    if (!body.trim() || body === entry.body) return;
    const clientId = client.send({ type: "chat.edit", room, id: entry.id, body });
    log.editPending(entry.id, body, clientId);
    render();
  });

  list.addEventListener("keydown", (key) => {
    if (!key.target.classList.contains("message-editor-text")) return;
    const node = key.target.closest("li.message");
    if (key.key === "Escape") closeEditor(node);
    if (key.key === "Enter" && !key.shiftKey && !key.isComposing) {
      key.preventDefault();
      node.querySelector(".message-editor").requestSubmit();
    }
  });

  function openEditor(node, entry) {
    const editor = node.querySelector(".message-editor");
    const text = node.querySelector(".message-editor-text");
    text.value = entry.body;
    editor.hidden = false;
    node.querySelector(".message-body").hidden = true;
    node.classList.add("editing");
    text.focus();
  }

  function closeEditor(node) {
    node.querySelector(".message-editor").hidden = true;
    node.querySelector(".message-body").hidden = false;
    node.classList.remove("editing");
  }

  function statusText(entry) {
    if (entry.status === "failed") return entry.error;
    if (entry.status === "pending") return client.state === "open" ? "Sending…" : "Waiting for the connection";
    if (log.savingEdit(entry.id)) return "Saving…";
    return entry.editedAt ? "edited" : "";
  }

  function update(node, entry) {
    const mine = entry.author && entry.author.id === me.id;
    node.dataset.key = entry.key;
    node.dataset.status = entry.status;
    node.dataset.clientId = entry.clientId || "";
    if (entry.id !== null) node.dataset.id = entry.id;
    if (entry.seq !== null) node.dataset.seq = entry.seq;
    node.classList.toggle("mine", Boolean(mine));
    node.classList.toggle("edited", Boolean(entry.editedAt));
    const name = entry.author ? entry.author.name : "someone";
    node.querySelector(".message-avatar").textContent = name.charAt(0).toUpperCase();
    node.querySelector(".message-author").textContent = name;
    const time = node.querySelector(".message-time");
    time.dateTime = entry.createdAt || "";
    time.textContent = clock(entry.createdAt);
    const status = node.querySelector(".message-status");
    status.textContent = statusText(entry);
    status.title = entry.status === "sent" ? "" : `client_id ${entry.clientId}`;
    const body = node.querySelector(".message-body");
    if (body.textContent !== entry.body) body.textContent = entry.body;
    node.querySelector(".message-edit").hidden = !mine || entry.id === null;
    node.querySelector(".message-delete").hidden = !mine || entry.id === null;
    node.querySelector(".message-retry").hidden = entry.status !== "failed";
  }

  function clock(iso) {
    const at = iso ? new Date(iso) : null;
    if (!at || Number.isNaN(at.getTime())) return "";
    return at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", hour12: false });
  }

  function render(options = {}) {
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    const entries = log.list();
    const keep = new Set();
    let previous = null;
    for (const entry of entries) {
      keep.add(entry.key);
      let node = nodes.get(entry.key);
      if (!node) {
        node = template.content.firstElementChild.cloneNode(true);
        nodes.set(entry.key, node);
      }
      update(node, entry);
      const next = previous ? previous.nextSibling : list.firstChild;
      if (next !== node) list.insertBefore(node, next);
      previous = node;
    }
    for (const [key, node] of nodes) {
      if (!keep.has(key)) {
        node.remove();
        nodes.delete(key);
      }
    }
    loading.hidden = loaded;
    if (loaded) delete list.dataset.loading;
    empty.hidden = !loaded || entries.length > 0;
    if (options.scroll || atBottom) list.scrollTop = list.scrollHeight;
  }

  function renderTyping() {
    const now = Date.now();
    typingLine.textContent = typingText(typing.names(now));
    if (typingShown !== null) clearTimeout(typingShown);
    const next = typing.nextExpiry(now);
    typingShown = next === null ? null : setTimeout(renderTyping, next - now + 10);
  }

  /* You are here whatever the snapshot says: it is taken before your page enters the room. */
  function renderPresence() {
    presence.join(me);
    const people = presence.list();
    presenceList.replaceChildren(
      ...people.map((person) => {
        const item = document.createElement("li");
        item.className = "presence-item";
        item.dataset.user = person.id;
        const avatar = document.createElement("span");
        avatar.className = "avatar";
        avatar.setAttribute("aria-hidden", "true");
        avatar.textContent = (person.name || "?").charAt(0).toUpperCase();
        const name = document.createElement("span");
        name.className = "presence-name";
        name.textContent = person.id === me.id ? `${person.name} (you)` : person.name;
        item.append(avatar, name);
        return item;
      }),
    );
    const others = people.filter((person) => person.id !== me.id).length;
    presenceEmpty.hidden = others > 0;
    presenceEmpty.textContent = "Nobody else is here.";
  }

  window.chatPage = { log, presence };
  renderPresence();
  join();
})();
