"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const live = require("../../notifications/static/notifications/live.js");
const { environment, event, settle } = require("./fakes.js");

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

function eventStream(handlers = {}, overrides = {}) {
  const { env, clock } = environment(overrides);
  const states = [];
  const seen = [];
  const stream = new live.EventStream(
    "task:9",
    { onEvent: (e) => seen.push(e.seq), ...handlers },
    { backoffBase: 100, backoffCap: 1000, sseKeepalive: 1000, heartbeatGrace: 500 },
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
