"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const vm = require("node:vm");
const { settle } = require("./fakes.js");

const SOURCE = fs.readFileSync(
  path.join(__dirname, "../../notifications/static/notifications/notify.js"),
  "utf8",
);

/* notify.js on a page of its own: a fake document, the list endpoint answering `listed`, and
 * the live client's subscriptions kept by stream. */
function page(listed, extra = {}) {
  const subscriptions = {};
  const seen = [];
  const config = {
    badgeClass: "badge",
    menuClass: "menu",
    apiUrl: "/live/api/unread_list/",
    fetchCount: 5,
    markAsRead: false,
    stream: "user:7",
    broadcastStream: "broadcast",
    callbacks: ["record"],
    ...extra,
  };
  const window = {
    console,
    document: {
      readyState: "complete",
      cookie: "",
      currentScript: { getAttribute: () => JSON.stringify(config) },
      getElementsByClassName: () => [],
    },
    fetch: () => Promise.resolve({ ok: true, json: () => Promise.resolve(listed) }),
    live: {
      subscribe(stream, handlers) {
        subscriptions[stream] = handlers;
      },
    },
    record: (state) => seen.push(state),
  };
  vm.runInNewContext(SOURCE, { window });
  const push = (stream, type, data) => subscriptions[stream].onEvent({ stream, event: type, data });
  return { seen, push, subscriptions };
}

const everyone = (broadcast) => ({ id: null, slug: null, broadcast, verb: "hello", data: { broadcast } });
const row = (id, broadcast) => ({ id, slug: id + 110909, verb: "hello", data: { broadcast } });
const ids = (state) => state.unread_list.map((item) => item.id);

test("a send to everyone shows at the top and adds one, once", async () => {
  const { seen, push, subscriptions } = page({ unread_count: 1, unread_list: [row(3)] });
  await settle();
  assert.deepEqual(Object.keys(subscriptions).sort(), ["broadcast", "user:7"]);
  assert.equal(seen.at(-1).unread_count, 1);
  push("broadcast", "notification.broadcast", { notification: everyone(9) });
  assert.equal(seen.at(-1).unread_count, 2);
  assert.deepEqual(ids(seen.at(-1)), [null, 3]);
  push("broadcast", "notification.broadcast", { notification: everyone(9) });
  push("broadcast", "announcement", { unread_count: 40 });
  assert.equal(seen.length, 2);
});

test("the user's own row of it takes its place, and reading it removes it", async () => {
  const { seen, push } = page({ unread_count: 0, unread_list: [] });
  await settle();
  push("broadcast", "notification.broadcast", { notification: everyone(9) });
  push("user:7", "notification.created", { notification: row(12, 9), unread_count: 1 });
  assert.equal(seen.at(-1).unread_count, 1);
  assert.deepEqual(ids(seen.at(-1)), [12]);
  push("user:7", "notification.read", { id: 12, slug: 110921, unread_count: 0 });
  assert.deepEqual([seen.at(-1).unread_count, ids(seen.at(-1))], [0, []]);
});

test("it subscribes from where the streams stood when the page was made, and a replay adds nothing twice", async () => {
  const { seen, push, subscriptions } = page(
    { unread_count: 2, unread_list: [row(5), row(4)] },
    { since: 11, broadcastSince: 3 },
  );
  await settle();
  assert.equal(subscriptions["user:7"].since, 11);
  assert.equal(subscriptions.broadcast.since, 3);
  push("user:7", "notification.created", { notification: row(5), unread_count: 2 });
  assert.deepEqual(ids(seen.at(-1)), [5, 4]);
  assert.equal(seen.at(-1).unread_count, 2);
});

test("without a position it subscribes from now", async () => {
  const { subscriptions } = page({ unread_count: 0, unread_list: [] });
  await settle();
  assert.equal(subscriptions["user:7"].since, undefined);
});
