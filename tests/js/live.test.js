"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const live = require("../../notifications/static/notifications/live.js");
const { environment, event, fakeWindow, settle } = require("./fakes.js");

function connectedClient(options = {}, overrides = {}) {
  const { env, clock } = environment(overrides);
  const client = new live.Client({ backoffBase: 100, backoffCap: 1000, ...options }, env);
  const states = [];
  client.on("state", (state) => states.push(state));
  return { client, env, clock, states, sockets: env.WebSocket.instances };
}

test("backoff grows exponentially with full jitter and is capped", () => {
  const top = () => 0.999999;
  const delays = [0, 1, 2, 3, 4, 5, 6, 10].map((n) => live.backoffDelay(n, 100, 1000, top));
  assert.deepEqual(delays, [99, 199, 399, 799, 999, 999, 999, 999]);
  assert.equal(live.backoffDelay(3, 100, 1000, () => 0.5), 400);
  assert.equal(live.backoffDelay(3, 100, 1000, () => 0), 0);
});

test("the client reconnects with growing, capped, jittered delays", () => {
  const draws = [0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.1];
  const { client, clock, sockets } = connectedClient({}, { random: () => draws.shift() });
  client.subscribe("room:a", {});
  const delays = [];
  for (let i = 0; i < 7; i++) {
    sockets[sockets.length - 1].drop();
    delays.push(clock.pending()[0]);
    clock.advance(delays[i]);
  }
  assert.deepEqual(delays, [90, 180, 360, 720, 900, 900, 100]);
  assert.equal(sockets.length, 8);
});

test("a successful open resets the backoff", () => {
  const { client, clock, sockets } = connectedClient({}, { random: () => 0.999 });
  client.subscribe("room:a", {});
  sockets[0].drop();
  clock.advance(clock.pending()[0]);
  sockets[1].drop();
  assert.equal(clock.pending()[0], 199);
  clock.advance(199);
  sockets[2].open();
  sockets[2].drop();
  assert.equal(clock.pending()[0], 99);
});

test("subscriptions resume from the last seen seq after a reconnect", () => {
  const { client, clock, sockets } = connectedClient();
  const seen = [];
  client.subscribe("room:a", { since: 5, onEvent: (e) => seen.push(e.seq) });
  assert.equal(sockets[0].url, "wss://example.test/ws/live/");
  assert.deepEqual(sockets[0].protocols, ["notifications.v1.json"]);
  sockets[0].open();
  assert.deepEqual(sockets[0].sent, [{ type: "subscribe", stream: "room:a", since: 5 }]);
  sockets[0].receive([event("room:a", 6), event("room:a", 7)]);
  sockets[0].drop();
  clock.advance(clock.pending()[0]);
  sockets[1].open();
  assert.deepEqual(sockets[1].sent, [{ type: "subscribe", stream: "room:a", since: 7 }]);
  assert.deepEqual(seen, [6, 7]);
});

test("events are de-duplicated by seq; ephemeral events always pass", () => {
  const { client, sockets } = connectedClient();
  const seen = [];
  const subscription = client.subscribe("room:a", { since: 5, onEvent: (e) => seen.push(e.seq) });
  sockets[0].open();
  sockets[0].receive(event("room:a", 6));
  sockets[0].receive(event("room:a", 6));
  sockets[0].receive([event("room:a", 5), event("room:a", null), event("room:a", 7)]);
  assert.deepEqual(seen, [6, null, 7]);
  assert.equal(client.stats.duplicates, 2);
  assert.equal(subscription.cursor, 7);
});

test("a gap is detected and filled by re-subscribing from the cursor", () => {
  const { client, sockets } = connectedClient();
  const seen = [];
  const gaps = [];
  client.on("gap", (gap) => gaps.push(gap));
  client.subscribe("room:a", { since: 7, onEvent: (e) => seen.push(e.seq) });
  sockets[0].open();
  sockets[0].receive({ type: "subscribed", stream: "room:a", seq: 7 });
  sockets[0].receive(event("room:a", 9));
  sockets[0].receive(event("room:a", 10));
  assert.deepEqual(gaps, [{ stream: "room:a", expected: 8, received: 9 }]);
  assert.deepEqual(sockets[0].sent.slice(1), [{ type: "subscribe", stream: "room:a", since: 7 }]);
  assert.equal(client.state, "resyncing");
  sockets[0].receive([event("room:a", 8), event("room:a", 9), event("room:a", 10)]);
  sockets[0].receive({ type: "subscribed", stream: "room:a", seq: 10 });
  assert.deepEqual(seen, [8, 9, 10]);
  assert.equal(client.state, "open");
});

test("without a cursor the first seq seen becomes the cursor", () => {
  const { client, sockets } = connectedClient();
  const seen = [];
  const subscription = client.subscribe("room:a", { onEvent: (e) => seen.push(e.seq) });
  sockets[0].open();
  assert.deepEqual(sockets[0].sent, [{ type: "subscribe", stream: "room:a", since: null }]);
  sockets[0].receive({ type: "subscribed", stream: "room:a", seq: 41 });
  sockets[0].receive(event("room:a", 42));
  assert.deepEqual(seen, [42]);
  assert.equal(subscription.cursor, 42);
});

test("frames sent offline are queued, flushed in order, and resent until acked", () => {
  const { client, clock, sockets } = connectedClient();
  client.subscribe("room:a", { since: 0 });
  const first = client.send({ type: "chat.send", text: "one" });
  const second = client.send({ type: "chat.send", text: "two" });
  const third = client.send({ type: "chat.send", text: "three", client_id: "mine" });
  assert.deepEqual([first, second, third], ["id-1", "id-2", "mine"]);
  sockets[0].open();
  assert.deepEqual(
    sockets[0].sent.map((f) => f.text || f.type),
    ["subscribe", "one", "two", "three"],
  );
  sockets[0].receive({ type: "ack", client_id: "id-1" });
  sockets[0].receive({ type: "error", code: "rejected", message: "no", client_id: "mine" });
  sockets[0].drop();
  clock.advance(clock.pending()[0]);
  sockets[1].open();
  assert.deepEqual(sockets[1].sent, [
    { type: "subscribe", stream: "room:a", since: 0 },
    { type: "chat.send", text: "two", client_id: "id-2" },
  ]);
});

test("a send with queue: false is dropped while offline", () => {
  const { client, sockets } = connectedClient();
  client.subscribe("room:a", {});
  assert.equal(client.send({ type: "typing" }, { queue: false }), null);
  sockets[0].open();
  client.send({ type: "typing" }, { queue: false });
  assert.deepEqual(sockets[0].sent.slice(1), [{ type: "typing" }]);
  assert.equal(client.outbox.length, 0);
});

test("pings are answered with pongs", () => {
  const { client, sockets } = connectedClient();
  client.subscribe("room:a", {});
  sockets[0].open();
  sockets[0].receive({ type: "ping", id: 3 });
  assert.deepEqual(sockets[0].sent.slice(1), [{ type: "pong", id: 3 }]);
});

test("silence longer than the heartbeat plus grace drops the socket and reconnects", () => {
  const { client, clock, sockets } = connectedClient({ heartbeatGrace: 500 });
  const timeouts = [];
  client.on("timeout", (t) => timeouts.push(t));
  client.subscribe("room:a", {});
  sockets[0].open();
  sockets[0].receive({ type: "welcome", protocol: 1, heartbeat: 2 });
  clock.advance(2400);
  sockets[0].receive({ type: "ping", id: 1 });
  clock.advance(2400);
  assert.equal(sockets[0].readyState, 1);
  assert.equal(timeouts.length, 0);
  clock.advance(100);
  assert.deepEqual(timeouts, [{ after: 2500 }]);
  assert.equal(sockets[0].closedWith, 4000);
  assert.equal(client.state, "offline");
  clock.advance(clock.pending()[0]);
  assert.equal(sockets.length, 2);
});

test("state events: connecting, resyncing until subscribed, open, offline", async () => {
  const { client, clock, states, sockets } = connectedClient();
  let finishResync;
  client.subscribe("room:a", {
    since: 3,
    onResync: () => new Promise((resolve) => (finishResync = resolve)),
  });
  sockets[0].open();
  sockets[0].receive({ type: "subscribed", stream: "room:a", seq: 3 });
  sockets[0].receive({ type: "resync", stream: "room:a", seq: 20, reason: "pruned" });
  assert.equal(client.state, "resyncing");
  finishResync();
  await settle();
  sockets[0].drop();
  clock.advance(clock.pending()[0]);
  assert.deepEqual(states, ["connecting", "resyncing", "open", "resyncing", "open", "offline", "connecting"]);
  sockets[1].open();
  assert.deepEqual(sockets[1].sent, [{ type: "subscribe", stream: "room:a", since: 20 }]);
});

test("a refused subscription is dropped and reported", () => {
  const { client, clock, sockets } = connectedClient();
  const errors = [];
  client.subscribe("user:2", { onError: (e) => errors.push(e.code) });
  sockets[0].open();
  sockets[0].receive({ type: "error", code: "forbidden", message: "no", stream: "user:2" });
  assert.deepEqual(errors, ["forbidden"]);
  sockets[0].drop();
  clock.advance(clock.pending()[0]);
  sockets[1].open();
  assert.deepEqual(sockets[1].sent, []);
});

test("an unavailable stream is re-subscribed after its own backoff, with its cursor, until it succeeds", () => {
  const { client, clock, states, sockets } = connectedClient();
  client.subscribe("room:a", { since: 4 });
  client.subscribe("room:b", {});
  sockets[0].open();
  sockets[0].receive({ type: "subscribed", stream: "room:b", seq: 0 });
  const unavailable = { type: "error", code: "unavailable", message: "retry later", stream: "room:a" };
  sockets[0].receive(unavailable);
  assert.equal(client.state, "resyncing");
  clock.advance(49);
  assert.equal(sockets[0].sent.length, 2);
  clock.advance(1);
  assert.deepEqual(sockets[0].sent.slice(2), [{ type: "subscribe", stream: "room:a", since: 4 }]);
  sockets[0].receive(unavailable);
  clock.advance(99);
  assert.equal(sockets[0].sent.length, 3);
  clock.advance(1);
  assert.deepEqual(sockets[0].sent.slice(3), [{ type: "subscribe", stream: "room:a", since: 4 }]);
  sockets[0].receive({ type: "subscribed", stream: "room:a", seq: 6 });
  assert.equal(client.state, "open");
  assert.deepEqual(states, ["connecting", "resyncing", "open"]);
  sockets[0].receive(unavailable);
  clock.advance(50);
  assert.deepEqual(sockets[0].sent.slice(4), [{ type: "subscribe", stream: "room:a", since: 6 }]);
  assert.equal(client.stats.reconnects, 0);
});

test("a rate_limited subscription waits at least retry_after before it is sent again", () => {
  const { client, clock, sockets } = connectedClient();
  client.subscribe("room:a", { since: 2 });
  sockets[0].open();
  sockets[0].receive({ type: "error", code: "rate_limited", message: "slow down", stream: "room:a", retry_after: 2 });
  assert.equal(client.state, "resyncing");
  clock.advance(1999);
  assert.equal(sockets[0].sent.length, 1);
  clock.advance(1);
  assert.deepEqual(sockets[0].sent.slice(1), [{ type: "subscribe", stream: "room:a", since: 2 }]);
  sockets[0].receive({ type: "subscribed", stream: "room:a", seq: 2 });
  assert.equal(client.state, "open");
});

test("a reconnect re-subscribes at once and cancels the pending retry; the stream keeps its backoff", () => {
  const { client, clock, sockets } = connectedClient();
  client.subscribe("room:a", { since: 4 });
  sockets[0].open();
  sockets[0].receive({ type: "error", code: "unavailable", message: "retry later", stream: "room:a" });
  sockets[0].drop();
  assert.deepEqual(clock.pending(), [50]);
  clock.advance(50);
  sockets[1].open();
  clock.advance(1000);
  assert.deepEqual(sockets[1].sent, [{ type: "subscribe", stream: "room:a", since: 4 }]);
  sockets[1].receive({ type: "error", code: "unavailable", message: "retry later", stream: "room:a" });
  clock.advance(99);
  assert.equal(sockets[1].sent.length, 1);
  clock.advance(1);
  assert.deepEqual(sockets[1].sent.slice(1), [{ type: "subscribe", stream: "room:a", since: 4 }]);
  assert.equal(sockets[0].sent.length, 1);
});

test("too_many_subscriptions drops the stream, calls onError, and the client is open again", () => {
  const { client, clock, sockets } = connectedClient();
  const errors = [];
  client.subscribe("room:a", { onError: (e) => errors.push(e.code) });
  client.subscribe("room:b", {});
  sockets[0].open();
  sockets[0].receive({ type: "subscribed", stream: "room:b", seq: 3 });
  assert.equal(client.state, "resyncing");
  sockets[0].receive({ type: "error", code: "too_many_subscriptions", message: "no", stream: "room:a" });
  assert.deepEqual(errors, ["too_many_subscriptions"]);
  assert.equal(client.state, "open");
  clock.advance(1000);
  assert.equal(sockets[0].sent.length, 2);
  sockets[0].drop();
  clock.advance(clock.pending()[0]);
  sockets[1].open();
  assert.deepEqual(sockets[1].sent, [{ type: "subscribe", stream: "room:b", since: 3 }]);
});

test("an error for an application frame settles it and leaves the subscriptions alone", () => {
  const { client, clock, sockets } = connectedClient();
  const refused = [];
  const errors = [];
  client.on("refused", (frame) => refused.push(frame.client_id));
  client.subscribe("room:a", { since: 1, onError: (e) => errors.push(e.code) });
  const id = client.send({ type: "chat.send", text: "hi" });
  sockets[0].open();
  sockets[0].receive({ type: "subscribed", stream: "room:a", seq: 1 });
  sockets[0].receive({ type: "error", code: "forbidden", message: "no", stream: "room:a", client_id: id });
  assert.deepEqual(refused, [id]);
  assert.deepEqual(errors, []);
  assert.equal(client.outbox.length, 0);
  assert.equal(client.state, "open");
  sockets[0].drop();
  clock.advance(clock.pending()[0]);
  sockets[1].open();
  assert.deepEqual(sockets[1].sent, [{ type: "subscribe", stream: "room:a", since: 1 }]);
});

test("going offline drops the socket at once; while offline the client stays offline and retries; online reconnects at once", () => {
  const window = fakeWindow();
  const navigator = { onLine: true };
  const { client, clock, states, sockets } = connectedClient({}, { window, navigator });
  client.subscribe("room:a", { since: 4 });
  sockets[0].open();
  navigator.onLine = false;
  window.fire("offline");
  assert.equal(sockets[0].readyState, 3);
  assert.equal(client.state, "offline");
  clock.advance(clock.pending()[0]);
  sockets[1].drop();
  clock.advance(clock.pending()[0]);
  assert.equal(sockets.length, 3);
  assert.equal(client.state, "offline");
  navigator.onLine = true;
  window.fire("online");
  assert.equal(sockets.length, 4);
  sockets[3].open();
  assert.deepEqual(sockets[3].sent, [{ type: "subscribe", stream: "room:a", since: 4 }]);
  assert.deepEqual(states, ["connecting", "resyncing", "offline", "connecting", "resyncing"]);
});

for (const code of [1008, 4008]) test(`close code ${code} ends the session: no reconnect until reconnectNow`, () => {
  const window = fakeWindow();
  const ended = [];
  const { client, clock, states, sockets } = connectedClient({ onEnded: (e) => ended.push(e) }, { window });
  const events = [];
  client.on("ended", (e) => events.push(e));
  client.subscribe("room:a", { since: 2 });
  sockets[0].open();
  sockets[0].receive({ type: "subscribed", stream: "room:a", seq: 2 });
  sockets[0].drop(code, "session ended");
  assert.equal(client.state, "closed");
  assert.deepEqual(ended, [{ code, reason: "session ended" }]);
  assert.deepEqual(events, ended);
  assert.deepEqual(clock.pending(), []);
  client.subscribe("room:b", {});
  client.send({ type: "chat.send", text: "hi" });
  window.fire("online");
  clock.advance(60000);
  assert.equal(sockets.length, 1);
  assert.equal(client.state, "closed");
  client.reconnectNow();
  assert.equal(sockets.length, 2);
  sockets[1].open();
  assert.deepEqual(sockets[1].sent, [
    { type: "subscribe", stream: "room:a", since: 2 },
    { type: "subscribe", stream: "room:b", since: null },
    { type: "chat.send", text: "hi", client_id: "id-1" },
  ]);
  assert.deepEqual(states, ["connecting", "resyncing", "open", "closed", "connecting", "resyncing"]);
});

test("after 4430 or 4431 only a connection open for 10 s resets the backoff", () => {
  for (const code of [4430, 4431]) {
    const { client, clock, sockets } = connectedClient({}, { random: () => 0.999 });
    client.subscribe("room:a", {});
    sockets[0].open();
    sockets[0].drop(code);
    assert.deepEqual(clock.pending(), [99]);
    clock.advance(99);
    sockets[1].open();
    sockets[1].drop(code);
    assert.deepEqual(clock.pending(), [199]);
    clock.advance(199);
    sockets[2].open();
    clock.advance(9999);
    sockets[2].drop(1006);
    assert.deepEqual(clock.pending(), [399]);
    clock.advance(399);
    sockets[3].open();
    clock.advance(10000);
    sockets[3].drop(code);
    assert.deepEqual(clock.pending(), [99]);
    clock.advance(99);
    sockets[4].open();
    sockets[4].drop(code);
    assert.deepEqual(clock.pending(), [199]);
  }
});

test("other close codes reconnect, and an open resets the backoff at once", () => {
  for (const code of [1000, 1001, 1006, 4408, 4429]) {
    const { client, clock, sockets } = connectedClient({}, { random: () => 0.999 });
    client.subscribe("room:a", { since: 1 });
    sockets[0].open();
    sockets[0].drop(code);
    clock.advance(99);
    sockets[1].drop(code);
    assert.deepEqual(clock.pending(), [199]);
    clock.advance(199);
    sockets[2].open();
    sockets[2].drop(code);
    assert.deepEqual(clock.pending(), [99]);
    assert.equal(client.state, "offline");
  }
});

test("a token goes into the WebSocket URL, keeping its query", () => {
  const { client, sockets } = connectedClient({ token: "a b/c+d", websocketUrl: "/ws/live/?stream=room:a" });
  client.subscribe("room:a", {});
  assert.equal(sockets[0].url, "wss://example.test/ws/live/?stream=room:a&token=a%20b%2Fc%2Bd");
  const plain = connectedClient({ token: "t1" });
  plain.client.subscribe("room:a", {});
  assert.equal(plain.sockets[0].url, "wss://example.test/ws/live/?token=t1");
});

test("a token function is called before every connect; a promise is waited for", async () => {
  let calls = 0;
  const token = () => Promise.resolve(`t${++calls}`);
  const { client, clock, sockets } = connectedClient({ token });
  client.subscribe("room:a", {});
  client.send({ type: "chat.send", text: "hi" });
  assert.equal(client.state, "connecting");
  assert.equal(sockets.length, 0);
  await settle();
  assert.equal(calls, 1);
  assert.deepEqual(sockets.map((s) => s.url), ["wss://example.test/ws/live/?token=t1"]);
  sockets[0].open();
  sockets[0].drop();
  clock.advance(clock.pending()[0]);
  await settle();
  assert.equal(calls, 2);
  assert.equal(sockets[1].url, "wss://example.test/ws/live/?token=t2");
  const plain = connectedClient({ token: () => "sync" });
  plain.client.subscribe("room:a", {});
  assert.equal(plain.sockets[0].url, "wss://example.test/ws/live/?token=sync");
});

test("a rejected or throwing token function backs off and retries", async () => {
  const answers = [
    () => Promise.reject(new Error("offline")),
    () => {
      throw new Error("no session");
    },
    () => Promise.resolve("ok"),
  ];
  const { client, clock, states, sockets } = connectedClient({ token: () => answers.shift()() });
  client.subscribe("room:a", {});
  await settle();
  assert.equal(client.state, "offline");
  assert.deepEqual(clock.pending(), [50]);
  clock.advance(50);
  assert.deepEqual(clock.pending(), [100]);
  clock.advance(100);
  await settle();
  assert.equal(sockets.length, 1);
  assert.equal(sockets[0].url, "wss://example.test/ws/live/?token=ok");
  assert.equal(client.stats.reconnects, 2);
  assert.deepEqual(states, ["connecting", "offline", "connecting", "offline", "connecting"]);
});

test("close while a token is pending opens nothing", async () => {
  const { client, clock, sockets } = connectedClient({ token: () => Promise.resolve("late") });
  client.subscribe("room:a", {});
  client.close();
  await settle();
  assert.equal(sockets.length, 0);
  assert.equal(client.state, "closed");
  assert.deepEqual(clock.pending(), []);
});

test("unsubscribe and close stop everything", () => {
  const { client, clock, sockets } = connectedClient();
  const subscription = client.subscribe("room:a", {});
  sockets[0].open();
  subscription.unsubscribe();
  assert.deepEqual(sockets[0].sent.slice(1), [{ type: "unsubscribe", stream: "room:a" }]);
  client.close();
  assert.equal(client.state, "closed");
  assert.deepEqual(clock.pending(), []);
});

function eventStream(handlers = {}, overrides = {}, options = {}) {
  const { env, clock } = environment(overrides);
  const states = [];
  const seen = [];
  const stream = new live.EventStream(
    "task:9",
    { onEvent: (e) => seen.push(e.seq), ...handlers },
    { backoffBase: 100, backoffCap: 1000, sseKeepalive: 1000, heartbeatGrace: 500, ...options },
    env,
  );
  stream.on("state", (state) => states.push(state));
  return { stream, env, clock, states, seen, sources: env.EventSource.instances };
}

test("SSE: resumes after an error from the last id, with backoff", () => {
  const { stream, clock, sources, seen } = eventStream({ since: 4 });
  assert.equal(sources[0].url, "https://example.test/live/events/task%3A9/?named=0&since=4");
  assert.deepEqual(sources[0].init, { withCredentials: true });
  sources[0].open();
  sources[0].message(event("task:9", 5), "5");
  sources[0].message(event("task:9", 5), "5");
  sources[0].message({ type: "ping" });
  sources[0].fail();
  assert.equal(sources[0].closed, true);
  assert.equal(stream.state, "offline");
  assert.deepEqual(clock.pending(), [50]);
  clock.advance(50);
  assert.equal(sources[1].url, "https://example.test/live/events/task%3A9/?named=0&since=5");
  sources[1].fail();
  assert.deepEqual(clock.pending(), [100]);
  assert.deepEqual(seen, [5]);
  assert.equal(stream.stats.duplicates, 1);
});

test("SSE: a gap reopens the stream from the cursor at once", () => {
  const { sources, seen } = eventStream({ since: 1 });
  sources[0].open();
  sources[0].message(event("task:9", 2));
  sources[0].message(event("task:9", 4));
  assert.equal(sources[0].closed, true);
  assert.equal(sources[1].url, "https://example.test/live/events/task%3A9/?named=0&since=2");
  sources[1].message(event("task:9", 3));
  sources[1].message(event("task:9", 4));
  assert.deepEqual(seen, [2, 3, 4]);
});

test("SSE: a terminal event ends the stream for good", () => {
  const ends = [];
  const { stream, clock, sources } = eventStream({
    since: 0,
    terminal: ["task.succeeded"],
    onEnd: (end) => ends.push(end.reason),
  });
  sources[0].open();
  sources[0].message({ ...event("task:9", 1), event: "task.succeeded" });
  assert.equal(stream.state, "closed");
  assert.deepEqual(ends, ["done"]);
  assert.deepEqual(clock.pending(), []);
});

test("SSE: an ended session stops the stream without retrying", () => {
  const ends = [];
  const ended = [];
  const { stream, clock, sources } = eventStream({
    since: 0,
    onEnd: (end) => ends.push(end.reason),
    onEnded: (detail) => ended.push(detail),
  });
  sources[0].open();
  sources[0].message({ type: "ended", reason: "session_ended" });
  sources[0].fail();
  assert.equal(stream.state, "closed");
  assert.deepEqual(ended, [{ reason: "session_ended" }]);
  assert.deepEqual(ends, ["ended"]);
  assert.deepEqual(clock.pending(), []);
  assert.equal(sources.length, 1);
});

test("SSE: a failed first connection is probed; 204 stops, 403 refuses, 502 retries", async () => {
  for (const [status, expected] of [
    [204, "done"],
    [403, "refused"],
    [502, null],
  ]) {
    const ends = [];
    const fetches = [];
    const fetch = (url, init) => {
      fetches.push([url, init.headers.Accept]);
      return Promise.resolve({ status });
    };
    const { stream, clock, sources } = eventStream({ onEnd: (end) => ends.push(end.reason) }, { fetch });
    sources[0].fail();
    await settle();
    assert.deepEqual(fetches, [["https://example.test/live/events/task%3A9/?named=0", "text/event-stream"]]);
    if (expected) {
      assert.deepEqual(ends, [expected]);
      assert.equal(stream.state, "closed");
      assert.deepEqual(clock.pending(), []);
    } else {
      assert.deepEqual(ends, []);
      assert.equal(clock.pending().length, 1);
    }
  }
});

test("SSE: 429 (too many connections) is retried with backoff", async () => {
  const ends = [];
  const fetch = () => Promise.resolve({ status: 429 });
  const { stream, clock, sources } = eventStream({ since: 2, onEnd: (end) => ends.push(end.reason) }, { fetch });
  sources[0].fail();
  await settle();
  assert.equal(stream.state, "offline");
  assert.deepEqual(clock.pending(), [50]);
  clock.advance(50);
  assert.equal(sources[1].url, "https://example.test/live/events/task%3A9/?named=0&since=2");
  sources[1].fail();
  await settle();
  assert.deepEqual(clock.pending(), [100]);
  assert.deepEqual(ends, []);
});

test("SSE: a token function is called before every connection and probe", async () => {
  let calls = 0;
  const fetches = [];
  const fetch = (url) => {
    fetches.push(url);
    return Promise.resolve({ status: 502 });
  };
  const { clock, sources } = eventStream({ since: 4 }, { fetch }, { token: () => Promise.resolve(`t${++calls}`) });
  assert.equal(sources.length, 0);
  await settle();
  assert.equal(sources[0].url, "https://example.test/live/events/task%3A9/?named=0&since=4&token=t1");
  sources[0].fail();
  await settle();
  assert.deepEqual(fetches, ["https://example.test/live/events/task%3A9/?named=0&since=4&token=t2"]);
  clock.advance(clock.pending()[0]);
  await settle();
  assert.equal(sources[1].url, "https://example.test/live/events/task%3A9/?named=0&since=4&token=t3");
  const plain = eventStream({}, {}, { token: "a/b" });
  assert.equal(plain.sources[0].url, "https://example.test/live/events/task%3A9/?named=0&token=a%2Fb");
});

test("SSE: a rejected token backs off and retries", async () => {
  const answers = [Promise.reject(new Error("no")), Promise.resolve("ok")];
  const { stream, clock, sources } = eventStream({}, {}, { token: () => answers.shift() });
  await settle();
  assert.equal(stream.state, "offline");
  assert.deepEqual(clock.pending(), [50]);
  clock.advance(50);
  await settle();
  assert.equal(sources[0].url, "https://example.test/live/events/task%3A9/?named=0&token=ok");
});

test("SSE: silence beyond keep-alive plus grace reconnects; resync moves the cursor", async () => {
  const resyncs = [];
  const { stream, clock, sources } = eventStream({ since: 3, onResync: (r) => resyncs.push(r.reason) });
  sources[0].open();
  sources[0].message({ type: "resync", stream: "task:9", seq: 30, reason: "pruned" }, "30");
  await settle();
  assert.deepEqual(resyncs, ["pruned"]);
  assert.equal(stream.state, "open");
  clock.advance(1499);
  assert.equal(sources.length, 1);
  clock.advance(1);
  assert.equal(sources[0].closed, true);
  clock.advance(clock.pending()[0]);
  assert.equal(sources[1].url, "https://example.test/live/events/task%3A9/?named=0&since=30");
});

test("the script tag's data attributes configure the default client", () => {
  const config = live.readScriptConfig({
    dataset: {
      websocketUrl: "/custom/ws/",
      eventsUrl: "/custom/events/",
      heartbeat: "30",
      sseKeepalive: "15",
      cursors: '{"user:1": 12}',
      transport: "sse",
    },
  });
  assert.deepEqual(config, {
    websocketUrl: "/custom/ws/",
    eventsUrl: "/custom/events/",
    heartbeat: 30000,
    sseKeepalive: 15000,
    cursors: { "user:1": 12 },
    transport: "sse",
  });
});

test("the script tag's data-token becomes the token option", () => {
  assert.deepEqual(live.readScriptConfig({ dataset: { token: "abc.def" } }), { token: "abc.def" });
});
