// The reference: the best a Node `http` SSE server gives, as the original design would.
// One Set of open responses, each frame built once (as a Buffer, so no write re-encodes it)
// and written to every response. A window of the last frames serves a Last-Event-ID resume
// from memory, as the hub's frame window does (bench/storm.py compares the connect rates).
// With BOOK_CHARS, each POST also sends an `event: book` frame of about that many bytes to every
// response after its messages, as the hub's book frames (bench/fanout.py's books row).
// Usage: node server.js PORT CONTENT_CHARS [BOOK_CHARS]
"use strict";
const http = require("http");

const port = Number(process.argv[2] || 8100);
const contentChars = Number(process.argv[3] || 480);
const bookChars = Number(process.argv[4] || 0);
const windowSize = 5000;
let round = 0;
const clients = new Set();
const recent = []; // [{ id, frame }], oldest first, at most windowSize
let nextId = 1;

function frameFor(agentId) {
  const message = {
    id: nextId++,
    agent_id: agentId,
    agent_name: "Claude Arbitrage",
    kind: "analysis",
    content: "x".repeat(contentChars),
    created_at: new Date().toISOString(),
    meta: { symbol: "BTC", side: "buy", price: 71234.5, confidence: 0.72, reply_to: null },
  };
  const frame = Buffer.from(`id: ${message.id}\ndata: ${JSON.stringify(message)}\n\n`);
  recent.push({ id: message.id, frame });
  if (recent.length > windowSize) recent.shift();
  return { message, frame };
}

/** The frames after `lastId`, joined: a binary search for the first, then one Buffer. */
function replayAfter(lastId) {
  let low = 0;
  let high = recent.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (recent[middle].id <= lastId) low = middle + 1;
    else high = middle;
  }
  return Buffer.concat(recent.slice(low).map((entry) => entry.frame));
}

const server = http.createServer((req, res) => {
  if (req.method === "GET" && req.url.startsWith("/api/chat/stream")) {
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", "x-accel-buffering": "no" });
    res.write(`retry: 3000\nevent: ready\ndata: {"last_id":${nextId - 1}}\n\n`);
    const lastEventId = req.headers["last-event-id"];
    if (lastEventId !== undefined) {
      const replay = replayAfter(Number(lastEventId));
      if (replay.length) res.write(replay);
    }
    clients.add(res);
    req.on("close", () => clients.delete(res));
  } else if (req.method === "POST" && req.url.startsWith("/api/chat/generate")) {
    const count = Number(new URL(req.url, "http://x").searchParams.get("count") || 1);
    req.resume();
    req.on("end", () => {
      const made = [];
      for (let i = 0; i < count; i++) made.push(frameFor("claude_arbitrage"));
      const chunk = Buffer.concat(made.map((m) => m.frame));
      for (const client of clients) client.write(chunk);
      if (bookChars > 0) {
        // A write of its own, as the hub's book frame follows its messages once the round's books are read.
        round += 1;
        const book = { round, as_of: new Date().toISOString(), full: false, changes: { pad: "x".repeat(bookChars) } };
        const bookFrame = Buffer.from(`event: book\ndata: ${JSON.stringify(book)}\n\n`);
        setImmediate(() => {
          for (const client of clients) client.write(bookFrame);
        });
      }
      const body = JSON.stringify({ messages: made.map((m) => m.message) });
      res.writeHead(201, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
      res.end(body);
    });
  } else if (req.url === "/healthz") {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ status: "ok", clients: clients.size }));
  } else {
    res.writeHead(404);
    res.end();
  }
});
server.keepAliveTimeout = 0;
server.headersTimeout = 0;
server.requestTimeout = 0;
server.listen(port, "127.0.0.1", 4096); // a backlog like the hub's: a full one drops SYNs for a second
process.on("SIGTERM", () => process.exit(0));
