// Reads a Vercel AI SDK "UI message stream" with the `ai` package's own client code: the
// DefaultChatTransport that useChat uses to send a message (or to reconnect to a stream), and
// readUIMessageStream to assemble the assistant message from the chunks. The Python tests run it
// against our endpoint to prove that an unmodified useChat client understands what we send.
//
//   node tests/js/ui-message-stream.mjs --api URL --chat-id ID [--header 'Name: value']...
//        [--message TEXT] [--resume] [--max-chunks N]
//
// Prints one line of JSON to stdout:
//   {"status": "stream"|"none", "chunkTypes": [...], "messageId": ..., "text": ...,
//    "finished": bool, "aborted": bool, "errors": [...], "httpStatus": N, "headers": {...}}
// "none" means reconnecting found no active stream (the server answered 204). "errors" holds the
// errorText of each `error` chunk the server sent (useChat would report those as a failed
// response). --max-chunks N cuts the connection (AbortController) after N chunks and prints what
// was seen with "aborted": true. Anything else that goes wrong (a non-2xx answer, a chunk the
// package rejects, a connection that drops) is printed to stderr with a non-zero exit.
import { parseArgs } from "node:util";
import { DefaultChatTransport, generateId, readUIMessageStream } from "ai";

const USAGE =
  "usage: node tests/js/ui-message-stream.mjs --api URL --chat-id ID " +
  "[--header 'Name: value']... [--message TEXT] [--resume] [--max-chunks N]";

function fail(message) {
  process.stderr.write(`ui-message-stream: ${message}\n`);
  process.exit(2);
}

function parseOptions(argv) {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        api: { type: "string" },
        "chat-id": { type: "string" },
        header: { type: "string", multiple: true, default: [] },
        message: { type: "string", default: "Hello" },
        resume: { type: "boolean", default: false },
        "max-chunks": { type: "string" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    fail(`${error.message}\n${USAGE}`);
  }
  if (!values.api || !values["chat-id"]) fail(`--api and --chat-id are required\n${USAGE}`);
  const headers = {};
  for (const header of values.header) {
    const colon = header.indexOf(":");
    if (colon <= 0) fail(`--header wants 'Name: value', got ${JSON.stringify(header)}`);
    headers[header.slice(0, colon).trim()] = header.slice(colon + 1).trim();
  }
  let maxChunks;
  if (values["max-chunks"] !== undefined) {
    maxChunks = Number(values["max-chunks"]);
    if (!Number.isInteger(maxChunks) || maxChunks < 1) {
      fail(`--max-chunks wants a positive integer, got ${values["max-chunks"]}`);
    }
  }
  return {
    api: values.api,
    chatId: values["chat-id"],
    headers,
    message: values.message,
    resume: values.resume,
    maxChunks,
  };
}

function describe(error) {
  if (!(error instanceof Error)) return String(error);
  // A rejected chunk's message lists every union member it failed (hundreds of lines): the
  // first line names the chunk, which is what a test failure needs.
  const lines = error.message.split("\n");
  const message = lines.length > 4 ? `${lines[0]} [${lines.length - 1} more lines]` : error.message;
  let text = `${error.name}: ${message}`;
  if (error.statusCode !== undefined) text += ` (HTTP ${error.statusCode})`;
  if (error.cause) text += `; cause: ${describe(error.cause)}`;
  return text;
}

async function main() {
  const options = parseOptions(process.argv.slice(2));
  const abortController = new AbortController();
  const response = { httpStatus: null, headers: {} };

  // The transport's own fetch, only watched: useChat accepts the same `fetch` option.
  const watchedFetch = async (input, init) => {
    const answer = await globalThis.fetch(input, init);
    response.httpStatus = answer.status;
    response.headers = Object.fromEntries(answer.headers);
    return answer;
  };
  const transport = new DefaultChatTransport({
    api: options.api,
    headers: options.headers,
    fetch: watchedFetch,
  });

  let chunks;
  if (options.resume) {
    chunks = await transport.reconnectToStream({
      chatId: options.chatId,
      abortSignal: abortController.signal,
    });
    if (chunks === null) {
      return {
        status: "none",
        chunkTypes: [],
        messageId: null,
        text: "",
        finished: false,
        aborted: false,
        errors: [],
        ...response,
      };
    }
  } else {
    // What useChat's sendMessage({text}) puts in the history and hands to the transport.
    const userMessage = {
      id: generateId(),
      role: "user",
      parts: [{ type: "text", text: options.message }],
    };
    chunks = await transport.sendMessages({
      trigger: "submit-message",
      chatId: options.chatId,
      messageId: undefined,
      messages: [userMessage],
      abortSignal: abortController.signal,
    });
  }

  const chunkTypes = [];
  const errorTexts = [];
  let finished = false;
  let aborted = false;
  const recorder = new TransformStream({
    transform(chunk, controller) {
      chunkTypes.push(chunk.type);
      if (chunk.type === "finish") finished = true;
      if (chunk.type === "error") errorTexts.push(chunk.errorText);
      controller.enqueue(chunk);
      if (options.maxChunks !== undefined && chunkTypes.length >= options.maxChunks) {
        // Close our side cleanly (the chunks seen so far still reach readUIMessageStream),
        // then drop the connection the way a stop() or a closed tab does.
        aborted = true;
        controller.terminate();
        abortController.abort();
      }
    },
  });

  let fatal;
  let reportedErrors = 0;
  let message;
  const messages = readUIMessageStream({
    stream: chunks.pipeThrough(recorder),
    onError(error) {
      // An `error` chunk reaches here as new Error(errorText): that is the server's word, kept in
      // "errors". Anything else (a malformed chunk, a dropped connection) is a failure.
      if (
        reportedErrors < errorTexts.length &&
        error instanceof Error &&
        error.message === errorTexts[reportedErrors]
      ) {
        reportedErrors++;
        return;
      }
      if (aborted && error?.name === "AbortError") return;
      fatal ??= error;
    },
  });
  for await (const snapshot of messages) message = snapshot;
  if (fatal !== undefined) throw fatal;

  const text = (message?.parts ?? [])
    .filter((part) => part.type === "text")
    .map((part) => part.text)
    .join("");
  return {
    status: "stream",
    chunkTypes,
    messageId: message?.id || null,
    text,
    finished,
    aborted,
    errors: errorTexts,
    ...response,
  };
}

main().then(
  (result) => {
    process.stdout.write(`${JSON.stringify(result)}\n`);
  },
  (error) => {
    process.stderr.write(`ui-message-stream: ${describe(error)}\n`);
    if (error?.responseBody) process.stderr.write(`response body: ${error.responseBody}\n`);
    process.exitCode = 1;
  },
);
