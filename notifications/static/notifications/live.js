/*
 * live.js: the browser client of django-live-notifications. No dependencies, no build step.
 *
 *   live.subscribe("room:lobby", { since: 12, onEvent(event) {...}, onResync(info) {...} });
 *   live.on("state", (state) => ...);   // "connecting" | "open" | "offline" | "resyncing" | "closed"
 *   live.on("ended", ({code, reason}) => ...);   // 1008: the session ended; reconnectNow() after a new login
 *   live.send({ type: "chat.send", text: "hi" });   // queued while offline, resent until acked
 *   live.task(runId, { onProgress(progress) {...}, onOutput(text) {...}, onDone(status, data) {...} });
 *
 * See docs/client.md for the whole API and the reconnect policy.
 */
(function (root, factory) {
  "use strict";
  var live = factory(root);
  if (typeof module === "object" && module.exports) {
    module.exports = live;
  } else {
    root.live = live;
    if (root.document) live.configure(live.readScriptConfig(root.document.currentScript));
  }
})(typeof globalThis !== "undefined" ? globalThis : this, function (root) {
  "use strict";

  var SUBPROTOCOL = "notifications.v1.json";
  var DEFAULTS = {
    websocketUrl: "/ws/live/",
    eventsUrl: "/live/events/",
    transport: "websocket",
    backoffBase: 500,
    backoffCap: 30000,
    heartbeat: 25000,
    heartbeatGrace: 10000,
    sseKeepalive: 15000,
    cursors: {},
    token: null,
  };
  var SESSION_ENDED = [1008, 4008];
  var THROTTLED_CLOSES = [4430, 4431];
  var STABLE_AFTER = 10000;
  var REFUSED_SUBSCRIPTIONS = ["forbidden", "not_found", "invalid_stream", "too_many_subscriptions"];
  var TASK_TERMINAL = ["task.succeeded", "task.failed", "task.cancelled"];
  var TASK_STATES = { "task.queued": "queued", "task.started": "running", "task.cancelling": "cancelling" };
  var RETRIED_SUBSCRIPTIONS = ["unavailable", "rate_limited"];

  /* Full-jitter exponential backoff: a uniform delay in [0, min(cap, base * 2^attempt)). */
  function backoffDelay(attempt, base, cap, random) {
    return Math.floor(random() * Math.min(cap, base * Math.pow(2, attempt)));
  }

  function defaultEnv() {
    return {
      WebSocket: root.WebSocket,
      EventSource: root.EventSource,
      fetch: root.fetch ? root.fetch.bind(root) : null,
      setTimeout: root.setTimeout.bind(root),
      clearTimeout: root.clearTimeout.bind(root),
      random: Math.random,
      location: root.location,
      window: root.addEventListener ? root : null,
      navigator: root.navigator || null,
      crypto: root.crypto,
    };
  }

  /* The state shown while an attempt is under way: "offline" while the browser itself reports
   * no network, so the page does not flicker between offline and connecting. */
  function attemptState(env) {
    return env.navigator && env.navigator.onLine === false ? "offline" : "connecting";
  }

  function newId(env) {
    if (env.crypto && env.crypto.randomUUID) return env.crypto.randomUUID();
    return Date.now().toString(36) + "-" + Math.floor(env.random() * 1e12).toString(36);
  }

  function absoluteUrl(path, env, websocket) {
    var base = env.location ? env.location.href : "http://localhost/";
    var url = new URL(path, base);
    if (websocket && url.protocol.indexOf("http") === 0) {
      url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    }
    return url.toString();
  }

  /* Resolve the `token` option (a string, or a function returning one or a promise of one). */
  function resolveToken(token, done, fail) {
    var value;
    try {
      value = typeof token === "function" ? token() : token;
    } catch (error) {
      fail(error);
      return;
    }
    if (value && typeof value.then === "function") value.then(done, fail);
    else done(value);
  }

  function withToken(url, token) {
    if (token === null || token === undefined || token === "") return url;
    return url + (url.indexOf("?") === -1 ? "?" : "&") + "token=" + encodeURIComponent(token);
  }

  function call(handler, value) {
    return callWith(handler, [value]);
  }

  function callWith(handler, args) {
    if (!handler) return undefined;
    try {
      return handler.apply(null, args);
    } catch (error) {
      if (root.console) root.console.error(error);
      return undefined;
    }
  }

  /* Tracks one stream's cursor: what to deliver, drop as a duplicate, or treat as a gap. */
  function classify(cursor, seq) {
    if (seq === null || seq === undefined) return "deliver";
    if (cursor === null || cursor === undefined) return "deliver";
    if (seq <= cursor) return "duplicate";
    if (seq > cursor + 1) return "gap";
    return "deliver";
  }

  /* Wait a backoff delay, then call `reopen` on the client or stream. */
  function scheduleReconnect(target, reopen) {
    var options = target.options;
    var delay = backoffDelay(target.attempt++, options.backoffBase, options.backoffCap, target.env.random);
    target.stats.reconnects++;
    target.emit("reconnect", { attempt: target.attempt, delay: delay });
    target.reconnectTimer = target.env.setTimeout(function () {
      target.reconnectTimer = null;
      reopen.call(target);
    }, delay);
  }

  function Emitter() {
    this.listeners = {};
  }
  Emitter.prototype.on = function (type, listener) {
    (this.listeners[type] = this.listeners[type] || []).push(listener);
    return this;
  };
  Emitter.prototype.off = function (type, listener) {
    this.listeners[type] = (this.listeners[type] || []).filter(function (l) {
      return l !== listener;
    });
    return this;
  };
  Emitter.prototype.emit = function (type, detail) {
    (this.listeners[type] || []).slice().forEach(function (listener) {
      call(listener, detail);
    });
  };
  Emitter.prototype.setState = function (state) {
    if (this.state === state) return;
    this.state = state;
    this.emit("state", state);
  };

  /* A reconnecting WebSocket carrying any number of stream subscriptions. */
  function Client(options, env) {
    Emitter.call(this);
    this.options = Object.assign({}, DEFAULTS, options || {});
    this.env = Object.assign(defaultEnv(), env || {});
    this.url = absoluteUrl(this.options.websocketUrl, this.env, true);
    this.state = "closed";
    this.streams = new Map();
    this.outbox = [];
    this.attempt = 0;
    this.socket = null;
    this.reconnectTimer = null;
    this.heartbeatTimer = null;
    this.stableTimer = null;
    this.pendingConnect = null;
    this.heartbeat = this.options.heartbeat;
    this.stopped = false;
    this.ended = false;
    this.throttled = false;
    this.stats = { duplicates: 0, gaps: 0, reconnects: 0 };
    var self = this;
    if (this.env.window) {
      this.env.window.addEventListener("online", function () {
        if (self.state === "offline") self.reconnectNow();
      });
      this.env.window.addEventListener("offline", function () {
        if (self.socket !== null || self.pendingConnect !== null) self.connectionLost(1000, "offline");
      });
    }
  }
  Client.prototype = Object.create(Emitter.prototype);

  /* Follow one task run (see TaskWatch) on this client's WebSocket. */
  Client.prototype.task = function (runId, handlers) {
    var self = this;
    return new TaskWatch(
      runId,
      handlers,
      function (stream, options) {
        return self.subscribe(stream, options);
      },
      this.options.cursors,
    );
  };

  Client.prototype.subscribe = function (stream, handlers) {
    handlers = handlers || {};
    var entry = this.streams.get(stream);
    if (!entry) {
      var since = handlers.since !== undefined ? handlers.since : this.options.cursors[stream];
      entry = { stream: stream, cursor: since === undefined ? null : since, handlers: [], ready: false };
      entry.gapPending = false;
      entry.resyncs = 0;
      entry.retryAttempt = 0;
      entry.retryTimer = null;
      this.streams.set(stream, entry);
      if (this.isOpen()) this.sendSubscribe(entry);
    }
    entry.handlers.push(handlers);
    this.stopped = false;
    this.connectIfIdle();
    var self = this;
    return {
      stream: stream,
      get cursor() {
        return entry.cursor;
      },
      unsubscribe: function () {
        entry.handlers = entry.handlers.filter(function (h) {
          return h !== handlers;
        });
        if (entry.handlers.length === 0 && self.streams.get(stream) === entry) {
          self.cancelRetry(entry);
          self.streams.delete(stream);
          if (self.isOpen()) self.transmit({ type: "unsubscribe", stream: stream });
        }
      },
    };
  };

  /* Send an application frame. It gets a client_id and stays queued (sent again after each
   * reconnect) until the server acks or refuses it; {queue: false} sends now or never. */
  Client.prototype.send = function (frame, options) {
    var item = Object.assign({}, frame);
    if (options && options.queue === false) {
      if (this.isOpen()) this.transmit(item);
      return null;
    }
    if (!item.client_id) item.client_id = newId(this.env);
    this.outbox.push(item);
    if (this.isOpen()) this.transmit(item);
    else this.connectIfIdle();
    return item.client_id;
  };

  /* Connect unless a connection is open, under way or scheduled, or the session ended. */
  Client.prototype.connectIfIdle = function () {
    if (this.ended || this.socket || this.reconnectTimer !== null || this.pendingConnect !== null) return;
    this.connect();
  };

  Client.prototype.isOpen = function () {
    return this.socket !== null && this.socket.readyState === 1;
  };

  /* Resolve the token, then open the socket; a failed token counts as a failed attempt. */
  Client.prototype.connect = function () {
    var self = this;
    var request = {};
    this.clearTimers();
    this.setState(attemptState(this.env));
    this.pendingConnect = request;
    resolveToken(
      this.options.token,
      function (token) {
        if (self.pendingConnect !== request) return;
        self.pendingConnect = null;
        self.openSocket(withToken(self.url, token));
      },
      function () {
        if (self.pendingConnect !== request) return;
        self.pendingConnect = null;
        self.scheduleReconnect();
      },
    );
  };

  Client.prototype.openSocket = function (url) {
    var socket = new this.env.WebSocket(url, [SUBPROTOCOL]);
    var self = this;
    this.socket = socket;
    socket.onopen = function () {
      if (socket === self.socket) self.onOpen();
    };
    socket.onmessage = function (message) {
      if (socket === self.socket) self.onMessage(message.data);
    };
    socket.onclose = function (event) {
      if (socket === self.socket) self.onClose(event);
    };
    socket.onerror = function () {};
  };

  Client.prototype.onOpen = function () {
    this.resetBackoff();
    this.armHeartbeat();
    var self = this;
    this.streams.forEach(function (entry) {
      self.sendSubscribe(entry);
    });
    this.outbox.forEach(function (item) {
      self.transmit(item);
    });
    this.updateState();
  };

  /* After a 4430/4431 close only a connection that stays open STABLE_AFTER ms resets the
   * backoff, so a refused client does not loop open, close, reconnect at once. */
  Client.prototype.resetBackoff = function () {
    var self = this;
    if (!this.throttled) {
      this.attempt = 0;
      return;
    }
    this.stableTimer = this.env.setTimeout(function () {
      self.stableTimer = null;
      self.throttled = false;
      self.attempt = 0;
    }, STABLE_AFTER);
  };

  Client.prototype.onMessage = function (text) {
    this.armHeartbeat();
    var content;
    try {
      content = JSON.parse(text);
    } catch (error) {
      return;
    }
    var frames = Array.isArray(content) ? content : [content];
    for (var i = 0; i < frames.length; i++) this.handleFrame(frames[i]);
  };

  Client.prototype.handleFrame = function (frame) {
    var entry = frame.stream !== undefined ? this.streams.get(frame.stream) : undefined;
    switch (frame.type) {
      case "event":
        if (entry) this.handleEvent(entry, frame);
        break;
      case "ping":
        this.transmit({ type: "pong", id: frame.id });
        break;
      case "welcome":
        if (typeof frame.heartbeat === "number") this.heartbeat = frame.heartbeat * 1000;
        this.armHeartbeat();
        break;
      case "subscribed":
        if (!entry) break;
        entry.cursor = entry.cursor === null ? frame.seq : Math.max(entry.cursor, frame.seq);
        entry.ready = true;
        entry.gapPending = false;
        entry.retryAttempt = 0;
        this.updateState();
        break;
      case "resync":
        if (entry) this.handleResync(entry, frame);
        break;
      case "ack":
        this.settle(frame.client_id, frame);
        break;
      case "error":
        this.handleError(entry, frame);
        break;
      case "pong":
      case "unsubscribed":
        break;
      default:
        this.emit("frame", frame);
    }
  };

  Client.prototype.handleEvent = function (entry, event) {
    switch (classify(entry.cursor, event.seq)) {
      case "duplicate":
        this.stats.duplicates++;
        return;
      case "gap":
        if (!entry.gapPending) {
          this.stats.gaps++;
          this.emit("gap", { stream: entry.stream, expected: entry.cursor + 1, received: event.seq });
          entry.gapPending = true;
          entry.ready = false;
          this.sendSubscribe(entry);
          this.updateState();
        }
        return;
    }
    if (event.seq !== null && event.seq !== undefined) entry.cursor = event.seq;
    this.emit("event", event);
    entry.handlers.forEach(function (handlers) {
      call(handlers.onEvent, event);
    });
  };

  Client.prototype.handleResync = function (entry, frame) {
    var self = this;
    entry.cursor = frame.seq;
    entry.resyncs++;
    this.updateState();
    this.emit("resync", frame);
    var pending = entry.handlers.map(function (handlers) {
      return Promise.resolve(call(handlers.onResync, frame));
    });
    Promise.all(pending).then(
      function () {
        entry.resyncs--;
        self.updateState();
      },
      function () {
        entry.resyncs--;
        self.updateState();
      },
    );
  };

  Client.prototype.handleError = function (entry, frame) {
    if (frame.client_id) {
      this.settle(frame.client_id, frame);
    } else if (entry && REFUSED_SUBSCRIPTIONS.indexOf(frame.code) !== -1) {
      this.refuseSubscription(entry, frame);
    } else if (entry && RETRIED_SUBSCRIPTIONS.indexOf(frame.code) !== -1) {
      this.retrySubscription(entry, frame);
    }
    this.emit("error", frame);
  };

  Client.prototype.refuseSubscription = function (entry, frame) {
    this.cancelRetry(entry);
    this.streams.delete(entry.stream);
    entry.handlers.forEach(function (handlers) {
      call(handlers.onError, frame);
    });
    this.updateState();
  };

  /* Subscribe again after the stream's own backoff, and at least `retry_after` seconds. */
  Client.prototype.retrySubscription = function (entry, frame) {
    var self = this;
    var options = this.options;
    var delay = backoffDelay(entry.retryAttempt++, options.backoffBase, options.backoffCap, this.env.random);
    if (typeof frame.retry_after === "number") delay = Math.max(delay, frame.retry_after * 1000);
    this.cancelRetry(entry);
    entry.ready = false;
    entry.retryTimer = this.env.setTimeout(function () {
      entry.retryTimer = null;
      if (self.streams.get(entry.stream) === entry) self.sendSubscribe(entry);
    }, delay);
    this.updateState();
  };

  Client.prototype.cancelRetry = function (entry) {
    if (entry.retryTimer !== null) this.env.clearTimeout(entry.retryTimer);
    entry.retryTimer = null;
  };

  Client.prototype.settle = function (clientId, frame) {
    this.outbox = this.outbox.filter(function (item) {
      return item.client_id !== clientId;
    });
    this.emit(frame.type === "ack" ? "ack" : "refused", frame);
  };

  Client.prototype.sendSubscribe = function (entry) {
    this.cancelRetry(entry);
    entry.ready = false;
    this.transmit({ type: "subscribe", stream: entry.stream, since: entry.cursor });
  };

  Client.prototype.transmit = function (frame) {
    if (this.isOpen()) this.socket.send(JSON.stringify(frame));
  };

  Client.prototype.updateState = function () {
    if (!this.isOpen()) return;
    var catchingUp = false;
    this.streams.forEach(function (entry) {
      if (!entry.ready || entry.resyncs > 0) catchingUp = true;
    });
    this.setState(catchingUp ? "resyncing" : "open");
  };

  Client.prototype.armHeartbeat = function () {
    var self = this;
    if (this.heartbeatTimer !== null) this.env.clearTimeout(this.heartbeatTimer);
    this.heartbeatTimer = this.env.setTimeout(function () {
      self.heartbeatTimer = null;
      self.emit("timeout", { after: self.heartbeat + self.options.heartbeatGrace });
      self.connectionLost(4000, "heartbeat timeout");
    }, this.heartbeat + this.options.heartbeatGrace);
  };

  /* Give up on the current socket at once (no closing handshake) and reconnect. */
  Client.prototype.connectionLost = function (code, reason) {
    this.clearTimers();
    this.dropSocket(code, reason);
    this.scheduleReconnect();
  };

  Client.prototype.onClose = function (event) {
    var code = event && event.code;
    this.socket = null;
    this.clearTimers();
    if (this.stopped) {
      this.setState("closed");
      return;
    }
    this.emit("close", { code: code });
    if (SESSION_ENDED.indexOf(code) !== -1) {
      this.endSession({ code: code, reason: event.reason || "" });
      return;
    }
    if (THROTTLED_CLOSES.indexOf(code) !== -1) this.throttled = true;
    this.scheduleReconnect();
  };

  /* The server ended the session (logout, expiry, revoked token): reconnecting would be
   * refused, so stay closed until the page calls reconnectNow(). */
  Client.prototype.endSession = function (detail) {
    this.ended = true;
    this.setState("closed");
    this.emit("ended", detail);
    call(this.options.onEnded, detail);
  };

  Client.prototype.dropSocket = function (code, reason) {
    var socket = this.socket;
    this.socket = null;
    this.pendingConnect = null;
    if (socket) {
      socket.onopen = socket.onmessage = socket.onclose = null;
      try {
        socket.close(code, reason);
      } catch (error) {
        /* already closed */
      }
    }
  };

  Client.prototype.scheduleReconnect = function () {
    this.setState("offline");
    scheduleReconnect(this, this.connect);
  };

  Client.prototype.reconnectNow = function () {
    this.dropSocket(1000, "reconnect");
    this.attempt = 0;
    this.ended = false;
    this.connect();
  };

  Client.prototype.clearTimers = function () {
    var self = this;
    if (this.heartbeatTimer !== null) this.env.clearTimeout(this.heartbeatTimer);
    if (this.reconnectTimer !== null) this.env.clearTimeout(this.reconnectTimer);
    if (this.stableTimer !== null) this.env.clearTimeout(this.stableTimer);
    this.heartbeatTimer = this.reconnectTimer = this.stableTimer = null;
    this.streams.forEach(function (entry) {
      self.cancelRetry(entry);
    });
  };

  Client.prototype.close = function () {
    this.stopped = true;
    this.clearTimers();
    this.dropSocket(1000, "closed by the page");
    this.setState("closed");
  };

  /* A reconnecting EventSource reading one stream (`?named=0`: every event on onmessage). */
  function EventStream(stream, handlers, options, env) {
    Emitter.call(this);
    this.stream = stream;
    this.handlers = handlers || {};
    this.options = Object.assign({}, DEFAULTS, options || {});
    this.env = Object.assign(defaultEnv(), env || {});
    var since = this.handlers.since !== undefined ? this.handlers.since : this.options.cursors[stream];
    this.cursor = since === undefined ? null : since;
    this.terminal = this.handlers.terminal || [];
    this.state = "closed";
    this.attempt = 0;
    this.source = null;
    this.pendingConnect = null;
    this.opened = false;
    this.reconnectTimer = null;
    this.heartbeatTimer = null;
    this.finished = false;
    this.stats = { duplicates: 0, gaps: 0, reconnects: 0 };
    this.open();
  }
  EventStream.prototype = Object.create(Emitter.prototype);

  EventStream.prototype.url = function (token) {
    var query = "named=0";
    if (this.cursor !== null) query += "&since=" + encodeURIComponent(this.cursor);
    var path = this.options.eventsUrl + encodeURIComponent(this.stream) + "/?" + query;
    return withToken(absoluteUrl(path, this.env, false), token);
  };

  /* Resolve the token, then call `connect` with the URL; a failed token counts as a failed
   * connection. */
  EventStream.prototype.withUrl = function (connect) {
    var self = this;
    var request = {};
    this.pendingConnect = request;
    resolveToken(
      this.options.token,
      function (token) {
        if (self.pendingConnect !== request || self.finished) return;
        self.pendingConnect = null;
        connect.call(self, self.url(token));
      },
      function () {
        if (self.pendingConnect !== request || self.finished) return;
        self.pendingConnect = null;
        self.setState("offline");
        self.scheduleReconnect();
      },
    );
  };

  EventStream.prototype.open = function () {
    this.clearTimers();
    this.setState(attemptState(this.env));
    this.opened = false;
    this.withUrl(this.openSource);
  };

  EventStream.prototype.openSource = function (url) {
    var self = this;
    var source = new this.env.EventSource(url, { withCredentials: true });
    this.source = source;
    source.onopen = function () {
      if (source !== self.source) return;
      self.opened = true;
      self.attempt = 0;
      self.armHeartbeat();
      self.setState("open");
    };
    source.onmessage = function (message) {
      if (source === self.source) self.onMessage(message);
    };
    source.onerror = function () {
      if (source === self.source) self.onError();
    };
  };

  EventStream.prototype.onMessage = function (message) {
    this.armHeartbeat();
    var data;
    try {
      data = JSON.parse(message.data);
    } catch (error) {
      return;
    }
    if (data.type === "resync") {
      this.handleResync(data);
    } else if (data.type === "event") {
      this.handleEvent(data);
    } else if (data.type === "ended") {
      this.endSession({ reason: data.reason });
    }
  };

  /* The server ended the session: the stream stops for good (a reconnect would be refused). */
  EventStream.prototype.endSession = function (detail) {
    this.emit("ended", detail);
    call(this.handlers.onEnded, detail);
    this.finish("ended");
  };

  EventStream.prototype.handleEvent = function (event) {
    var verdict = classify(this.cursor, event.seq);
    if (verdict === "duplicate") {
      this.stats.duplicates++;
      return;
    }
    if (verdict === "gap") {
      this.stats.gaps++;
      this.emit("gap", { stream: this.stream, expected: this.cursor + 1, received: event.seq });
      this.closeSource();
      this.open();
      return;
    }
    if (event.seq !== null && event.seq !== undefined) this.cursor = event.seq;
    this.emit("event", event);
    call(this.handlers.onEvent, event);
    if (this.isTerminal(event)) this.finish("done");
  };

  EventStream.prototype.isTerminal = function (event) {
    if (typeof this.terminal === "function") return Boolean(this.terminal(event));
    return this.terminal.indexOf(event.event) !== -1;
  };

  EventStream.prototype.handleResync = function (frame) {
    var self = this;
    this.cursor = frame.seq;
    this.setState("resyncing");
    this.emit("resync", frame);
    Promise.resolve(call(this.handlers.onResync, frame)).then(
      function () {
        if (self.state === "resyncing") self.setState("open");
      },
      function () {
        if (self.state === "resyncing") self.setState("open");
      },
    );
  };

  EventStream.prototype.onError = function () {
    var opened = this.opened;
    this.closeSource();
    if (this.finished) return;
    this.setState("offline");
    if (opened || !this.env.fetch) {
      this.scheduleReconnect();
    } else {
      this.probe();
    }
  };

  /* EventSource hides the status of a failed connection: ask once, to tell "finished" (204)
   * and "refused" (401/403/404) from a transient failure worth retrying (429, 5xx, …). */
  EventStream.prototype.probe = function () {
    this.withUrl(this.fetchStatus);
  };

  EventStream.prototype.fetchStatus = function (url) {
    var self = this;
    var controller = typeof AbortController !== "undefined" ? new AbortController() : null;
    this.env
      .fetch(url, {
        credentials: "same-origin",
        headers: { Accept: "text/event-stream" },
        signal: controller ? controller.signal : undefined,
      })
      .then(
        function (response) {
          if (controller) controller.abort();
          if (self.finished || self.state !== "offline") return;
          if (response.status === 204) {
            self.finish("done");
          } else if ([401, 403, 404].indexOf(response.status) !== -1) {
            call(self.handlers.onError, { status: response.status });
            self.emit("error", { status: response.status });
            self.finish("refused");
          } else {
            self.scheduleReconnect();
          }
        },
        function () {
          if (!self.finished && self.state === "offline") self.scheduleReconnect();
        },
      );
  };

  EventStream.prototype.scheduleReconnect = function () {
    scheduleReconnect(this, this.open);
  };

  EventStream.prototype.armHeartbeat = function () {
    var self = this;
    var limit = this.options.sseKeepalive + this.options.heartbeatGrace;
    if (this.heartbeatTimer !== null) this.env.clearTimeout(this.heartbeatTimer);
    this.heartbeatTimer = this.env.setTimeout(function () {
      self.heartbeatTimer = null;
      self.emit("timeout", { after: limit });
      self.closeSource();
      self.setState("offline");
      self.scheduleReconnect();
    }, limit);
  };

  EventStream.prototype.clearTimers = function () {
    if (this.heartbeatTimer !== null) this.env.clearTimeout(this.heartbeatTimer);
    if (this.reconnectTimer !== null) this.env.clearTimeout(this.reconnectTimer);
    this.heartbeatTimer = this.reconnectTimer = null;
  };

  EventStream.prototype.closeSource = function () {
    if (this.heartbeatTimer !== null) this.env.clearTimeout(this.heartbeatTimer);
    this.heartbeatTimer = null;
    if (this.source) {
      this.source.onopen = this.source.onmessage = this.source.onerror = null;
      this.source.close();
      this.source = null;
    }
  };

  EventStream.prototype.finish = function (reason) {
    this.finished = true;
    this.pendingConnect = null;
    this.clearTimers();
    this.closeSource();
    this.setState("closed");
    this.emit("end", { reason: reason });
    call(this.handlers.onEnd, { reason: reason });
  };

  EventStream.prototype.close = function () {
    this.finish("closed");
  };

  EventStream.prototype.unsubscribe = EventStream.prototype.close;

  /* Follows one run's stream `task:<runId>` through a subscription that `open(stream, options)`
   * makes, from `since` (default: `cursors[stream]`, else 0, the whole run), and turns its
   * events into progress, output and states. The subscription resumes, de-duplicates and fills
   * gaps by seq, so each output chunk arrives once, in order; the watch stops after the
   * terminal event. */
  function TaskWatch(runId, handlers, open, cursors) {
    this.runId = String(runId);
    this.stream = "task:" + this.runId;
    this.handlers = handlers || {};
    var since = this.handlers.since;
    if (since === undefined) since = cursors && cursors[this.stream];
    this.cursor = since === undefined ? 0 : since;
    this.status = null;
    this.progress = null;
    this.done = false;
    this.closed = false;
    var self = this;
    this.subscription = open(this.stream, {
      since: this.cursor,
      transport: this.handlers.transport,
      terminal: TASK_TERMINAL,
      onEvent: function (event) {
        self.onEvent(event);
      },
      onResync: function (frame) {
        self.cursor = frame.seq;
        return call(self.handlers.onResync, frame);
      },
      onError: function (error) {
        self.closed = true;
        call(self.handlers.onError, error);
      },
    });
  }

  TaskWatch.prototype.onEvent = function (event) {
    if (this.closed) return;
    if (event.seq !== null && event.seq !== undefined) {
      if (this.cursor !== null && event.seq <= this.cursor) return;
      this.cursor = event.seq;
    }
    var data = event.data || {};
    var handlers = this.handlers;
    callWith(handlers.onEvent, [event]);
    if (event.event === "task.progress") {
      this.setProgress(data, event);
    } else if (event.event === "task.output") {
      if (typeof data.text === "string") callWith(handlers.onOutput, [data.text, event]);
    } else if (TASK_STATES[event.event]) {
      if (data.progress) this.setProgress(data.progress, event);
      this.setStatus(TASK_STATES[event.event], data, event);
    } else if (TASK_TERMINAL.indexOf(event.event) !== -1) {
      var status = event.event.slice("task.".length);
      if (data.progress) this.setProgress(data.progress, event);
      this.setStatus(status, data, event);
      this.done = true;
      this.stop(false);
      callWith(handlers.onDone, [status, data, event]);
    }
  };

  TaskWatch.prototype.setProgress = function (progress, event) {
    this.progress = progress;
    callWith(this.handlers.onProgress, [progress, event]);
  };

  TaskWatch.prototype.setStatus = function (status, data, event) {
    this.status = status;
    callWith(this.handlers.onState, [status, data, event]);
  };

  /* An EventStream ends by itself after the terminal event; a WebSocket subscription is left. */
  TaskWatch.prototype.stop = function (always) {
    if (this.closed) return;
    this.closed = true;
    var subscription = this.subscription;
    if (subscription && (always || !(subscription instanceof EventStream))) subscription.unsubscribe();
  };

  TaskWatch.prototype.close = function () {
    this.stop(true);
  };

  /* The page-wide default client, configured by the {% live_client %} tag. */
  var settings = Object.assign({}, DEFAULTS);
  var shared = null;

  function readScriptConfig(script) {
    var config = {};
    if (!script || !script.dataset) return config;
    var data = script.dataset;
    if (data.websocketUrl) config.websocketUrl = data.websocketUrl;
    if (data.eventsUrl) config.eventsUrl = data.eventsUrl;
    if (data.transport) config.transport = data.transport;
    if (data.heartbeat) config.heartbeat = Number(data.heartbeat) * 1000;
    if (data.sseKeepalive) config.sseKeepalive = Number(data.sseKeepalive) * 1000;
    if (data.backoffBase) config.backoffBase = Number(data.backoffBase);
    if (data.backoffCap) config.backoffCap = Number(data.backoffCap);
    if (data.token) config.token = data.token;
    if (data.cursors) {
      try {
        config.cursors = JSON.parse(data.cursors);
      } catch (error) {
        config.cursors = {};
      }
    }
    return config;
  }

  function configure(options) {
    Object.assign(settings, options || {});
    return settings;
  }

  function client() {
    if (!shared) shared = new Client(settings);
    return shared;
  }

  function subscribe(stream, handlers) {
    handlers = handlers || {};
    var transport = handlers.transport || settings.transport;
    if (transport === "sse") return new EventStream(stream, handlers, settings);
    return client().subscribe(stream, handlers);
  }

  function task(runId, handlers) {
    return new TaskWatch(runId, handlers, subscribe, settings.cursors);
  }

  return {
    Client: Client,
    EventStream: EventStream,
    TaskWatch: TaskWatch,
    backoffDelay: backoffDelay,
    classify: classify,
    configure: configure,
    readScriptConfig: readScriptConfig,
    client: client,
    subscribe: subscribe,
    task: task,
    stream: function (stream, handlers) {
      return new EventStream(stream, handlers, settings);
    },
    send: function (frame, options) {
      return client().send(frame, options);
    },
    on: function (type, listener) {
      client().on(type, listener);
    },
    off: function (type, listener) {
      client().off(type, listener);
    },
  };
});
