"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const { MessageLog, Typing, Presence, typingText } = require("../../project/static/demo/chat-log.js");

const ALICE = { id: 1, name: "alice" };
const BOB = { id: 2, name: "bob" };

function stored(id, seq, author, body, clientId = null) {
  return {
    id,
    seq,
    room: "general",
    author,
    body,
    client_id: clientId,
    created_at: "2026-12-06T21:00:00Z",
    edited_at: null,
  };
}

const shown = (log) => log.list().map((entry) => [entry.body, entry.status]);

test("a message sent offline is pending, after the stored ones, until its ack", () => {
  const log = new MessageLog(ALICE.id);
  log.history([stored(10, 3, BOB, "hi")], 4, true);
  log.addPending("c1", "one", ALICE);
  log.addPending("c2", "two", ALICE);
  assert.deepEqual(shown(log), [["hi", "sent"], ["one", "pending"], ["two", "pending"]]);
  assert.ok(log.ack("c1", { id: 11, seq: 5, duplicate: false }));
  assert.deepEqual(shown(log), [["hi", "sent"], ["one", "sent"], ["two", "pending"]]);
  assert.deepEqual(log.pending().map((entry) => entry.clientId), ["c2"]);
});

test("a message is shown once, whether its event or its ack comes first", () => {
  const log = new MessageLog(ALICE.id);
  log.addPending("c1", "one", ALICE);
  log.addPending("c2", "two", ALICE);
  log.message(stored(11, 5, ALICE, "one", "c1"));
  log.ack("c1", { id: 11, seq: 5, duplicate: false });
  log.ack("c2", { id: 12, seq: 6, duplicate: true });
  log.message(stored(12, 6, ALICE, "two", "c2"));
  log.message(stored(12, 6, ALICE, "two", "c2"));
  assert.deepEqual(shown(log), [["one", "sent"], ["two", "sent"]]);
  assert.deepEqual(log.list().map((entry) => entry.key), ["c:c1", "c:c2"]);
  assert.equal(log.latestSeq(), 6);
});

test("an ack for a message the history already holds drops the pending copy", () => {
  const log = new MessageLog(ALICE.id);
  log.addPending("c1", "one", ALICE);
  log.history([stored(11, 5, ALICE, "one", "c1")], 5, true);
  log.ack("c1", { id: 11, seq: 5, duplicate: true });
  assert.deepEqual(shown(log), [["one", "sent"]]);
});

test("another author's client_id never confirms my pending message", () => {
  const log = new MessageLog(ALICE.id);
  log.addPending("same", "mine", ALICE);
  log.message(stored(20, 7, BOB, "his", "same"));
  assert.deepEqual(shown(log), [["his", "sent"], ["mine", "pending"]]);
});

test("a refused message is kept as failed and a retry makes it pending again", () => {
  const log = new MessageLog(ALICE.id);
  log.addPending("c1", "one", ALICE);
  assert.ok(log.refuse("c1", "Too many messages at once: not sent."));
  assert.deepEqual(shown(log), [["one", "failed"]]);
  assert.equal(log.retry("c1").clientId, "c1");
  assert.deepEqual(shown(log), [["one", "pending"]]);
});

test("messages stay in seq order whatever order they arrive in", () => {
  const log = new MessageLog(ALICE.id);
  log.message(stored(3, 9, BOB, "c"));
  log.message(stored(1, 4, BOB, "a"));
  log.message(stored(2, 6, BOB, "b"));
  assert.deepEqual(log.list().map((entry) => entry.body), ["a", "b", "c"]);
});

test("edits show at once, wait for the server, and a refused one is undone", () => {
  const log = new MessageLog(ALICE.id);
  log.message(stored(1, 1, ALICE, "typo"));
  log.editPending(1, "fixed", "e1");
  assert.equal(log.list()[0].body, "fixed");
  assert.ok(log.savingEdit(1));
  log.message(stored(1, 1, ALICE, "typo"));
  assert.equal(log.list()[0].body, "fixed");
  log.edited({ id: 1, body: "fixed", edited_at: "2026-12-06T21:01:00Z" });
  assert.ok(!log.savingEdit(1));
  assert.equal(log.list()[0].editedAt, "2026-12-06T21:01:00Z");

  log.editPending(1, "worse", "e2");
  log.editRefused("e2");
  assert.equal(log.list()[0].body, "fixed");
  log.edited({ id: 1, body: "by another tab" });
  assert.equal(log.list()[0].body, "by another tab");
});

test("a deleted message goes, and a later history leaves out what was deleted meanwhile", () => {
  const log = new MessageLog(ALICE.id);
  log.history([stored(1, 1, BOB, "a"), stored(2, 2, BOB, "b"), stored(3, 3, BOB, "c")], 3, true);
  log.deleted({ id: 1 });
  assert.deepEqual(log.list().map((entry) => entry.body), ["b", "c"]);
  log.addPending("c1", "offline", ALICE);
  log.history([stored(3, 3, BOB, "c edited"), stored(4, 5, BOB, "d")], 6, false);
  assert.deepEqual(log.list().map((entry) => entry.body), ["b", "c edited", "d", "offline"]);
  log.history([stored(4, 5, BOB, "d")], 7, true);
  assert.deepEqual(log.list().map((entry) => entry.body), ["d", "offline"]);
});

test("typing holds for its expiry, ends with the user's message, and reads naturally", () => {
  const typing = new Typing(6000);
  typing.typing(BOB, 1000);
  typing.typing({ id: 3, name: "carol" }, 2000);
  assert.deepEqual(typing.names(1500), ["bob", "carol"]);
  assert.equal(typing.nextExpiry(1500), 7000);
  assert.deepEqual(typing.names(7000), ["carol"]);
  assert.ok(typing.stopped(3));
  assert.deepEqual(typing.names(7001), []);
  assert.equal(typing.nextExpiry(7001), null);
  assert.equal(typingText([]), "");
  assert.equal(typingText(["bob"]), "bob is typing…");
  assert.equal(typingText(["bob", "carol"]), "bob and carol are typing…");
  assert.equal(typingText(["a", "b", "c"]), "Several people are typing…");
});

test("presence starts from the snapshot and follows joins and leaves", () => {
  const presence = new Presence();
  presence.reset([{ id: 2, name: "bob", connections: 2 }]);
  presence.join(ALICE);
  presence.join(ALICE);
  assert.deepEqual(presence.list(), [ALICE, BOB]);
  assert.ok(presence.leave(BOB));
  assert.ok(!presence.leave(BOB));
  assert.deepEqual(presence.list(), [ALICE]);
});
