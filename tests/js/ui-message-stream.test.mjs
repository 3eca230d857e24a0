// The UI message stream CLI against a canned server on loopback: what useChat's transport sends,
// and what the `ai` package makes of a stream shaped like ours (id: lines on every SSE message).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createServer } from "node:http";
import { fileURLToPath } from "node:url";

const CLI = fileURLToPath(new URL("./ui-message-stream.mjs", import.meta.url));

const STREAM_HEADERS = {
  "content-type": "text/event-stream",
  "cache-control": "no-cache",
  "x-vercel-ai-ui-message-stream": "v1",
};

const GREETING = [
  { type: "start", messageId: "msg-1" },
  { type: "text-start", id: "t1" },
  { type: "text-delta", id: "t1", delta: "Hel" },
  { type: "text-delta", id: "t1", delta: "lo, " },
  { type: "text-delta", id: "t1", delta: "world" },
  { type: "text-end", id: "t1" },
  { type: "finish" },
];

// One SSE message per part, each with an id: line, as our server sends them.
function sseMessage(id, data) {
  return `id: ${id}\ndata: ${typeof data === "string" ? data : JSON.stringify(data)}\n\n`;
}

function writeStream(res, parts, { done = true, end = true } = {}) {
  res.writeHead(200, STREAM_HEADERS);
  res.write("retry: 1000\n\n");
  parts.forEach((part, index) => {
    res.write(sseMessage(index + 1, part));
    if (index === 0) res.write(": keep-alive\n\n");
  });
  if (done) res.write(sseMessage(parts.length + 1, "[DONE]"));
  if (end) res.end();
}

const requests = [];
let hangingClosed;

function handle(req, res, body) {
  const url = new URL(req.url, "http://127.0.0.1");
  requests.push({ method: req.method, path: url.pathname, headers: req.headers, body });
  if (req.method === "POST" && url.pathname === "/api/chat") {
    const { id } = JSON.parse(body);
    if (id === "hang") {
      // Three chunks, then nothing: only a client that cuts the connection gets out.
      writeStream(res, GREETING.slice(0, 3), { done: false, end: false });
      hangingClosed = new Promise((resolve) => res.on("close", resolve));
      return;
    }
    if (id === "fails") {
      writeStream(res, [
        { type: "start", messageId: "msg-2" },
        { type: "error", errorText: "model exploded" },
        { type: "finish", finishReason: "error" },
      ]);
      return;
    }
    if (id === "bogus") {
      writeStream(res, [{ type: "start", messageId: "msg-3" }, { type: "no-such-chunk" }]);
      return;
    }
    writeStream(res, GREETING);
    return;
  }
  const resume = url.pathname.match(/^\/api\/chat\/([^/]+)\/stream$/);
  if (req.method === "GET" && resume) {
    const chatId = decodeURIComponent(resume[1]);
    if (chatId === "chat-1") writeStream(res, GREETING);
    else if (chatId === "broken") res.writeHead(500, { "content-type": "text/plain" }).end("boom");
    else res.writeHead(204).end();
    return;
  }
  res.writeHead(404).end();
}

let server;
let api;

before(async () => {
  server = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (piece) => (body += piece));
    req.on("end", () => handle(req, res, body));
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  api = `http://127.0.0.1:${server.address().port}/api/chat`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

function runCli(...args) {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, "--api", api, ...args], { timeout: 20_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (error.code ?? error.signal) : 0, stdout, stderr });
    });
  });
}

async function cliOutput(...args) {
  const { code, stdout, stderr } = await runCli(...args);
  assert.equal(code, 0, `the CLI failed: ${stderr}`);
  const lines = stdout.split("\n").filter(Boolean);
  assert.equal(lines.length, 1, `one line of JSON expected, got: ${stdout}`);
  return JSON.parse(lines[0]);
}

const GREETING_TYPES = GREETING.map((part) => part.type);

test("sending a message posts what useChat posts and assembles the reply", async () => {
  requests.length = 0;
  const out = await cliOutput("--chat-id", "chat-1", "--message", "Hi there", "--header", "X-Test: yes");
  assert.equal(out.status, "stream");
  assert.deepEqual(out.chunkTypes, GREETING_TYPES);
  assert.equal(out.messageId, "msg-1");
  assert.equal(out.text, "Hello, world");
  assert.equal(out.finished, true);
  assert.equal(out.aborted, false);
  assert.deepEqual(out.errors, []);
  assert.equal(out.httpStatus, 200);
  assert.equal(out.headers["x-vercel-ai-ui-message-stream"], "v1");

  assert.equal(requests.length, 1);
  const [request] = requests;
  assert.equal(request.method, "POST");
  assert.equal(request.path, "/api/chat");
  assert.equal(request.headers["content-type"], "application/json");
  assert.equal(request.headers["x-test"], "yes");
  const body = JSON.parse(request.body);
  assert.deepEqual(Object.keys(body).sort(), ["id", "messages", "trigger"]);
  assert.equal(body.id, "chat-1");
  assert.equal(body.trigger, "submit-message");
  assert.equal(body.messages.length, 1);
  assert.equal(body.messages[0].role, "user");
  assert.equal(typeof body.messages[0].id, "string");
  assert.deepEqual(body.messages[0].parts, [{ type: "text", text: "Hi there" }]);
});

test("resuming reads the replayed stream from GET {api}/{chatId}/stream", async () => {
  requests.length = 0;
  const out = await cliOutput("--chat-id", "chat-1", "--resume", "--header", "X-Test: again");
  assert.equal(out.status, "stream");
  assert.deepEqual(out.chunkTypes, GREETING_TYPES);
  assert.equal(out.text, "Hello, world");
  assert.equal(out.finished, true);
  assert.equal(requests.length, 1);
  assert.equal(requests[0].method, "GET");
  assert.equal(requests[0].path, "/api/chat/chat-1/stream");
  assert.equal(requests[0].headers["x-test"], "again");
  assert.equal(requests[0].body, "");
});

test("resuming a chat with no active stream (204) reports status none", async () => {
  const out = await cliOutput("--chat-id", "unknown-chat", "--resume");
  assert.equal(out.status, "none");
  assert.deepEqual(out.chunkTypes, []);
  assert.equal(out.finished, false);
  assert.equal(out.httpStatus, 204);
});

test("--max-chunks cuts the connection and prints what was seen", async () => {
  const out = await cliOutput("--chat-id", "hang", "--max-chunks", "3");
  assert.equal(out.aborted, true);
  assert.deepEqual(out.chunkTypes, ["start", "text-start", "text-delta"]);
  assert.equal(out.messageId, "msg-1");
  assert.equal(out.text, "Hel");
  assert.equal(out.finished, false);
  await hangingClosed; // the server saw the client go
});

test("an error chunk is reported, not fatal", async () => {
  const out = await cliOutput("--chat-id", "fails");
  assert.deepEqual(out.chunkTypes, ["start", "error", "finish"]);
  assert.deepEqual(out.errors, ["model exploded"]);
  assert.equal(out.finished, true);
});

test("a non-2xx answer on reconnect fails the CLI", async () => {
  const { code, stdout, stderr } = await runCli("--chat-id", "broken", "--resume");
  assert.notEqual(code, 0);
  assert.equal(stdout, "");
  assert.match(stderr, /HTTP 500/);
  assert.match(stderr, /boom/);
});

test("a chunk type the package does not know fails the CLI", async () => {
  const { code, stdout, stderr } = await runCli("--chat-id", "bogus");
  assert.notEqual(code, 0);
  assert.equal(stdout, "");
  assert.match(stderr, /no-such-chunk|Type validation failed/);
});

test("bad usage exits non-zero", async () => {
  const { code, stderr } = await runCli("--resume");
  assert.notEqual(code, 0);
  assert.match(stderr, /--chat-id/);
});
