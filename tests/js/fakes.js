"use strict";
/* Fake timers, WebSocket and EventSource for the client's unit tests. */

class Clock {
  constructor() {
    this.now = 0;
    this.timers = new Map();
    this.nextId = 1;
    this.setTimeout = (fn, ms) => {
      const id = this.nextId++;
      this.timers.set(id, { at: this.now + ms, ms, fn });
      return id;
    };
    this.clearTimeout = (id) => this.timers.delete(id);
  }

  /* Delays of the timers still pending, in the order they were set. */
  pending() {
    return [...this.timers.values()].map((timer) => timer.ms);
  }

  advance(ms) {
    const until = this.now + ms;
    for (;;) {
      let next = null;
      for (const [id, timer] of this.timers) {
        if (timer.at <= until && (next === null || timer.at < next[1].at)) next = [id, timer];
      }
      if (next === null) break;
      this.timers.delete(next[0]);
      this.now = next[1].at;
      next[1].fn();
    }
    this.now = until;
  }
}

function socketClass() {
  class FakeWebSocket {
    constructor(url, protocols) {
      this.url = url;
      this.protocols = protocols;
      this.readyState = 0;
      this.sent = [];
      FakeWebSocket.instances.push(this);
    }
    send(text) {
      this.sent.push(JSON.parse(text));
    }
    close(code) {
      this.readyState = 3;
      this.closedWith = code;
    }
    open() {
      this.readyState = 1;
      if (this.onopen) this.onopen();
    }
    receive(frame) {
      if (this.onmessage) this.onmessage({ data: JSON.stringify(frame) });
    }
    drop(code = 1006, reason = "") {
      this.readyState = 3;
      if (this.onclose) this.onclose({ code, reason });
    }
    get latest() {
      return FakeWebSocket.instances[FakeWebSocket.instances.length - 1];
    }
  }
  FakeWebSocket.instances = [];
  return FakeWebSocket;
}

function eventSourceClass() {
  class FakeEventSource {
    constructor(url, init) {
      this.url = url;
      this.init = init;
      this.closed = false;
      FakeEventSource.instances.push(this);
    }
    close() {
      this.closed = true;
    }
    open() {
      if (this.onopen) this.onopen();
    }
    message(data, id) {
      if (this.onmessage) this.onmessage({ data: JSON.stringify(data), lastEventId: id || "" });
    }
    fail() {
      if (this.onerror) this.onerror({});
    }
  }
  FakeEventSource.instances = [];
  return FakeEventSource;
}

/* A window that records its listeners, so a test can fire "online". */
function fakeWindow() {
  const listeners = {};
  return {
    addEventListener(type, listener) {
      (listeners[type] = listeners[type] || []).push(listener);
    },
    fire(type) {
      (listeners[type] || []).forEach((listener) => listener({ type }));
    },
  };
}

function environment(overrides = {}) {
  const clock = new Clock();
  let ids = 0;
  const env = {
    WebSocket: socketClass(),
    EventSource: eventSourceClass(),
    fetch: null,
    setTimeout: clock.setTimeout,
    clearTimeout: clock.clearTimeout,
    random: () => 0.5,
    location: { href: "https://example.test/page" },
    window: null,
    navigator: null,
    crypto: { randomUUID: () => `id-${++ids}` },
    ...overrides,
  };
  return { env, clock };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

function event(stream, seq, data = {}) {
  return { type: "event", stream, seq, event: "test", data, at: "2026-01-01T00:00:00Z" };
}

module.exports = { Clock, environment, event, fakeWindow, settle };
