"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const live = require("../../notifications/static/notifications/live.js");
const { environment, settle } = require("./fakes.js");

const RUN = "0b6c6a52-5b5e-4a4e-9d0e-3f1c2a7b8c9d";
const STREAM = `task:${RUN}`;

function taskEvent(seq, type, data) {
  return { type: "event", stream: STREAM, seq, event: type, data, at: "2026-01-01T00:00:00Z" };
}

const progress = (current, total, message = "") => ({
  current,
  total,
  fraction: current / total,
  message,
});
const state = (status, extra = {}) => ({ id: RUN, task: "demo.crunch", status, progress: progress(0, 4), ...extra });
const output = (seq, text) => taskEvent(seq, "task.output", { text });

/* A run's whole stream: queued, started, then progress and one output line per step. */
function runEvents(steps) {
  const events = [taskEvent(1, "task.queued", state("queued")), taskEvent(2, "task.started", { status: "running" })];
  for (let step = 1; step <= steps; step++) {
    events.push(taskEvent(events.length + 1, "task.progress", progress(step, steps, `Step ${step}`)));
    events.push(output(events.length + 1, `step ${step}\n`));
  }
  const done = state("succeeded", { progress: progress(steps, steps), result: { steps } });
  events.push(taskEvent(events.length + 1, "task.succeeded", done));
  return events;
}

/* Records everything a watch reports, in order. */
function recorder() {
  const calls = [];
  let text = "";
  const handlers = {
    onProgress: (value) => calls.push(["progress", value.current]),
    onOutput: (chunk, event) => {
      text += chunk;
      calls.push(["output", event.seq]);
    },
    onState: (status) => calls.push(["state", status]),
    onDone: (status, data) => calls.push(["done", status, data.result || data.error || null]),
  };
  return { calls, handlers, text: () => text };
}

function connected(options = {}) {
  const { env, clock } = environment();
  const client = new live.Client({ backoffBase: 100, backoffCap: 1000, ...options }, env);
  return { client, clock, sockets: env.WebSocket.instances };
}

test("a watch reports states, progress and output, then stops after the terminal event", () => {
  const { client, sockets } = connected();
  const { calls, handlers, text } = recorder();
  const watch = client.task(RUN, handlers);
  assert.equal(watch.stream, STREAM);
  sockets[0].open();
  assert.deepEqual(sockets[0].sent, [{ type: "subscribe", stream: STREAM, since: 0 }]);
  sockets[0].receive({ type: "subscribed", stream: STREAM, seq: 0 });
  sockets[0].receive(runEvents(2));
  assert.deepEqual(calls, [
    ["progress", 0],
    ["state", "queued"],
    ["state", "running"],
    ["progress", 1],
    ["output", 4],
    ["progress", 2],
    ["output", 6],
    ["progress", 2],
    ["state", "succeeded"],
    ["done", "succeeded", { steps: 2 }],
  ]);
  assert.equal(text(), "step 1\nstep 2\n");
  assert.equal(watch.status, "succeeded");
  assert.equal(watch.progress.current, 2);
  assert.equal(watch.done, true);
  assert.deepEqual(sockets[0].sent.at(-1), { type: "unsubscribe", stream: STREAM });
  assert.equal(client.streams.size, 0);
});

test("output is delivered once and in order across reconnects, replays and gaps", () => {
  const { client, clock, sockets } = connected();
  const { handlers, text } = recorder();
  const seen = [];
  const watch = client.task(RUN, { ...handlers, onEvent: (event) => seen.push(event.seq) });
  const events = runEvents(6);
  sockets[0].open();
  sockets[0].receive(events.slice(0, 5));
  sockets[0].drop();
  clock.advance(clock.pending()[0]);
  sockets[1].open();
  assert.deepEqual(sockets[1].sent, [{ type: "subscribe", stream: STREAM, since: 5 }]);
  // The server replays from an older point and a live event overtakes the replay: the
  // duplicates are dropped, the gap makes the client subscribe again from its cursor.
  sockets[1].receive(events.slice(2, 6));
  sockets[1].receive(events[8]);
  assert.deepEqual(sockets[1].sent.at(-1), { type: "subscribe", stream: STREAM, since: 6 });
  sockets[1].receive(events.slice(6));
  assert.deepEqual(seen, events.map((event) => event.seq));
  assert.equal(text(), "step 1\nstep 2\nstep 3\nstep 4\nstep 5\nstep 6\n");
  assert.equal(watch.done, true);
});

test("since comes from the option, else the page's cursors, else the start of the run", () => {
  const explicit = connected();
  explicit.client.task(RUN, { since: 7 });
  explicit.sockets[0].open();
  assert.equal(explicit.sockets[0].sent[0].since, 7);

  const configured = connected({ cursors: { [STREAM]: 3 } });
  const { calls, handlers } = recorder();
  configured.client.task(RUN, handlers);
  configured.sockets[0].open();
  assert.equal(configured.sockets[0].sent[0].since, 3);
  configured.sockets[0].receive([output(3, "old"), output(4, "new")]);
  assert.deepEqual(calls, [["output", 4]]);
});

test("a watch ignores events at or before its own cursor on a stream the page already follows", () => {
  const { client, sockets } = connected();
  const first = recorder();
  const second = recorder();
  client.task(RUN, { ...first.handlers, since: 2 });
  client.task(RUN, { ...second.handlers, since: 4 });
  sockets[0].open();
  sockets[0].receive([output(3, "three\n"), output(4, "four\n"), output(5, "five\n")]);
  assert.equal(first.text(), "three\nfour\nfive\n");
  assert.equal(second.text(), "five\n");
});

test("cancelling and cancelled are states; a failed run's done carries its error", () => {
  const { client, sockets } = connected();
  const { calls, handlers } = recorder();
  client.task(RUN, { ...handlers, since: 2 });
  sockets[0].open();
  const error = { type: "ValueError", message: "bad input" };
  sockets[0].receive([
    taskEvent(3, "task.cancelling", { status: "running" }),
    taskEvent(4, "task.failed", state("failed", { reason: "exception", error })),
  ]);
  assert.deepEqual(calls, [
    ["state", "cancelling"],
    ["progress", 0],
    ["state", "failed"],
    ["done", "failed", error],
  ]);
});

test("a run the user may not read is reported once and dropped", () => {
  const { client, sockets } = connected();
  const errors = [];
  const watch = client.task(RUN, { onError: (error) => errors.push(error.code) });
  sockets[0].open();
  sockets[0].receive({ type: "error", code: "not_found", stream: STREAM, message: "No such stream." });
  assert.deepEqual(errors, ["not_found"]);
  assert.equal(client.streams.size, 0);
  assert.equal(client.state, "open");
  watch.close();
  assert.equal(sockets[0].sent.filter((frame) => frame.type === "unsubscribe").length, 0);
});

test("close stops the reports and unsubscribes", () => {
  const { client, sockets } = connected();
  const { calls, handlers } = recorder();
  const watch = client.task(RUN, handlers);
  sockets[0].open();
  sockets[0].receive(output(1, "one"));
  watch.close();
  watch.close();
  sockets[0].receive(output(2, "two"));
  assert.deepEqual(calls, [["output", 1]]);
  assert.deepEqual(sockets[0].sent.at(-1), { type: "unsubscribe", stream: STREAM });
});

test("a handler that throws does not stop the others or later events", () => {
  const { client, sockets } = connected();
  const chunks = [];
  const original = console.error;
  console.error = () => {};
  try {
    client.task(RUN, {
      onProgress() {
        throw new Error("drawing failed");
      },
      onOutput: (text) => chunks.push(text),
    });
    sockets[0].open();
    sockets[0].receive([taskEvent(1, "task.progress", progress(1, 2)), output(2, "a"), output(3, "b")]);
  } finally {
    console.error = original;
  }
  assert.deepEqual(chunks, ["a", "b"]);
});

test("a resync moves the watch's cursor to where the server can resume", () => {
  const { client, sockets } = connected();
  const resyncs = [];
  const { handlers, text } = recorder();
  client.task(RUN, { ...handlers, since: 2, onResync: (info) => resyncs.push(info.reason) });
  sockets[0].open();
  sockets[0].receive({ type: "resync", stream: STREAM, seq: 9, reason: "pruned" });
  sockets[0].receive([output(9, "gone"), output(10, "kept")]);
  assert.deepEqual(resyncs, ["pruned"]);
  assert.equal(text(), "kept");
});

test("SSE: a watch resumes from the last id after an error and ends with the run", async () => {
  const { env, clock } = environment();
  const sources = env.EventSource.instances;
  const { handlers, text, calls } = recorder();
  const watch = new live.TaskWatch(RUN, handlers, (stream, options) => new live.EventStream(stream, options, {}, env));
  const events = runEvents(3);
  assert.equal(sources[0].url, `https://example.test/live/events/${encodeURIComponent(STREAM)}/?named=0&since=0`);
  sources[0].open();
  events.slice(0, 6).forEach((event) => sources[0].message(event));
  sources[0].fail();
  clock.advance(clock.pending()[0]);
  assert.equal(sources[1].url, `https://example.test/live/events/${encodeURIComponent(STREAM)}/?named=0&since=6`);
  sources[1].open();
  events.slice(4).forEach((event) => sources[1].message(event));
  await settle();
  assert.equal(text(), "step 1\nstep 2\nstep 3\n");
  assert.deepEqual(calls.at(-1), ["done", "succeeded", { steps: 3 }]);
  assert.equal(watch.done, true);
  assert.equal(watch.subscription.finished, true);
  assert.equal(sources[1].closed, true);
  assert.equal(sources.length, 2);
  assert.deepEqual(clock.pending(), []);
});

test("SSE: a refused run (404) is reported and not retried", async () => {
  const responses = [];
  const { env, clock } = environment({
    fetch: (url) => {
      responses.push(url);
      return Promise.resolve({ status: 404 });
    },
  });
  const errors = [];
  new live.TaskWatch(
    RUN,
    { onError: (error) => errors.push(error.status) },
    (stream, options) => new live.EventStream(stream, options, {}, env),
  );
  env.EventSource.instances[0].fail();
  await settle();
  assert.deepEqual(errors, [404]);
  assert.equal(responses.length, 1);
  assert.deepEqual(clock.pending(), []);
});
