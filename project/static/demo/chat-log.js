/* The chat page's state, without the page: the messages (history, live, and your own still
 * pending), who is typing and who is here. Every message is kept once, matched by its id and,
 * for your own, by the client_id it was sent with. */
(function (root, factory) {
  "use strict";
  const exported = factory();
  if (typeof module === "object" && module.exports) module.exports = exported;
  else root.chatLog = exported;
})(typeof globalThis !== "undefined" ? globalThis : this, function () {
  "use strict";

  class MessageLog {
    constructor(me) {
      this.me = me;
      this.entries = new Map();
      this.byId = new Map();
      this.byClientId = new Map();
      this.edits = new Map();
      this.order = 0;
    }

    /* A message you just sent: shown at once, pending until the server confirms it. */
    addPending(clientId, body, author, at) {
      const entry = {
        key: "c:" + clientId,
        id: null,
        seq: null,
        clientId,
        author,
        body,
        createdAt: at || new Date().toISOString(),
        editedAt: null,
        status: "pending",
        error: null,
        order: this.order++,
      };
      this.entries.set(entry.key, entry);
      this.byClientId.set(clientId, entry);
      return entry;
    }

    /* The server stored a send: the `ack` of its frame ({id, seq, duplicate}). */
    ack(clientId, answer) {
      const entry = this.byClientId.get(clientId);
      if (!entry || typeof answer.id !== "number") return false;
      this.confirm(entry, answer.id, answer.seq);
      return true;
    }

    /* The server refused a send: it stays, marked failed, until it is retried. */
    refuse(clientId, error) {
      const entry = this.byClientId.get(clientId);
      if (!entry || entry.status !== "pending") return false;
      entry.status = "failed";
      entry.error = error || "Not sent.";
      return true;
    }

    /* A failed message sent again, with the same client_id (so it is stored once). */
    retry(clientId) {
      const entry = this.byClientId.get(clientId);
      if (!entry || entry.status !== "failed") return null;
      entry.status = "pending";
      entry.error = null;
      return entry;
    }

    /* A stored message (from the history or a `chat.message` event). */
    message(data) {
      if (!data || typeof data.id !== "number") return false;
      let entry = this.byId.get(data.id);
      if (!entry && data.client_id && data.author && data.author.id === this.me) {
        entry = this.byClientId.get(data.client_id);
        if (entry) this.confirm(entry, data.id, data.seq);
        entry = this.byId.get(data.id);
      }
      if (!entry) {
        entry = {
          key: "m:" + data.id,
          id: data.id,
          seq: data.seq,
          clientId: data.client_id || null,
          author: data.author,
          body: data.body,
          createdAt: data.created_at,
          editedAt: data.edited_at || null,
          status: "sent",
          error: null,
          order: this.order++,
        };
        this.entries.set(entry.key, entry);
        this.byId.set(entry.id, entry);
        return true;
      }
      entry.seq = data.seq;
      entry.author = data.author;
      entry.createdAt = data.created_at || entry.createdAt;
      if (!this.savingEdit(entry.id)) {
        entry.body = data.body;
        entry.editedAt = data.edited_at || null;
      }
      return true;
    }

    confirm(entry, id, seq) {
      const existing = this.byId.get(id);
      if (existing && existing !== entry) {
        this.entries.delete(entry.key);
        if (entry.clientId) this.byClientId.delete(entry.clientId);
        return;
      }
      entry.id = id;
      entry.seq = seq;
      entry.status = "sent";
      entry.error = null;
      this.byId.set(id, entry);
    }

    edited(data) {
      const entry = this.byId.get(data.id);
      if (!entry) return false;
      for (const [clientId, edit] of this.edits) {
        if (edit.id === data.id && edit.body === data.body) this.edits.delete(clientId);
      }
      if (!this.savingEdit(data.id)) entry.body = data.body;
      entry.editedAt = data.edited_at || entry.editedAt || new Date().toISOString();
      return true;
    }

    deleted(data) {
      const entry = this.byId.get(data.id);
      if (!entry) return false;
      this.remove(entry);
      return true;
    }

    remove(entry) {
      this.entries.delete(entry.key);
      if (entry.id !== null) this.byId.delete(entry.id);
      if (entry.clientId && this.byClientId.get(entry.clientId) === entry) this.byClientId.delete(entry.clientId);
    }

    /* Your edit, shown at once; `clientId` is the edit frame's, answered by ack or refusal. */
    editPending(id, body, clientId) {
      const entry = this.byId.get(id);
      if (!entry) return false;
      const earlier = [...this.edits.values()].find((edit) => edit.id === id);
      this.edits.set(clientId, { id, body, previous: earlier ? earlier.previous : entry.body });
      entry.body = body;
      return true;
    }

    editAcked(clientId) {
      return this.edits.delete(clientId);
    }

    editRefused(clientId) {
      const edit = this.edits.get(clientId);
      if (!edit) return false;
      this.edits.delete(clientId);
      const entry = this.byId.get(edit.id);
      if (entry && !this.savingEdit(edit.id)) entry.body = edit.previous;
      return true;
    }

    savingEdit(id) {
      for (const edit of this.edits.values()) if (edit.id === id) return true;
      return false;
    }

    /* A `chat.history` snapshot: the latest messages as they stand at `seq`. Messages you
     * have that it leaves out were deleted meanwhile: those from its first message on, or all
     * of them up to `seq` when it is `complete` (it holds every message the room has). */
    history(messages, seq, complete) {
      const listed = new Set();
      for (const data of messages) {
        this.message(data);
        listed.add(data.id);
      }
      const from = complete || !messages.length ? -Infinity : messages[0].seq;
      for (const entry of [...this.entries.values()]) {
        if (entry.id === null || listed.has(entry.id)) continue;
        if (entry.seq !== null && entry.seq >= from && entry.seq <= seq) this.remove(entry);
      }
    }

    /* Stored messages by seq, then your unconfirmed ones in the order you wrote them. */
    list() {
      return [...this.entries.values()].sort((a, b) => {
        const aSeq = a.seq === null ? Infinity : a.seq;
        const bSeq = b.seq === null ? Infinity : b.seq;
        return aSeq !== bSeq ? aSeq - bSeq : a.order - b.order;
      });
    }

    latestSeq() {
      let latest = 0;
      for (const entry of this.entries.values()) if (entry.seq !== null && entry.seq > latest) latest = entry.seq;
      return latest;
    }

    pending() {
      return this.list().filter((entry) => entry.status !== "sent");
    }
  }

  /* Who is typing: a user's `chat.typing` holds for `expiry` ms, or until their message. */
  class Typing {
    constructor(expiry) {
      this.expiry = expiry;
      this.users = new Map();
    }

    typing(user, now) {
      this.users.set(user.id, { name: user.name, until: now + this.expiry });
    }

    stopped(userId) {
      return this.users.delete(userId);
    }

    names(now) {
      const names = [];
      for (const [id, user] of this.users) {
        if (user.until <= now) this.users.delete(id);
        else names.push(user.name);
      }
      return names.sort();
    }

    nextExpiry(now) {
      let next = null;
      for (const user of this.users.values()) {
        if (user.until > now && (next === null || user.until < next)) next = user.until;
      }
      return next;
    }
  }

  function typingText(names) {
    if (names.length === 0) return "";
    if (names.length === 1) return `${names[0]} is typing…`;
    if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
    return "Several people are typing…";
  }

  /* Who is in the room: the history's `presence`, then `presence.join` and `.leave`. */
  class Presence {
    constructor() {
      this.users = new Map();
    }

    reset(list) {
      this.users.clear();
      for (const user of list || []) if (user && user.id !== undefined) this.users.set(user.id, user.name);
    }

    join(user) {
      if (!user || user.id === undefined) return false;
      this.users.set(user.id, user.name);
      return true;
    }

    leave(user) {
      return Boolean(user) && this.users.delete(user.id);
    }

    list() {
      return [...this.users].map(([id, name]) => ({ id, name })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    }
  }

  return { MessageLog, Typing, Presence, typingText };
});
