// The reference: the best fan-out a Node `http` SSE server gives, as the original design would.
// One Set of open responses, each frame built once (as a Buffer, so no write re-encodes it)
// and written to every response.
// Usage: node server.js PORT CONTENT_CHARS
"use strict";
const http = require("http");

const port = Number(process.argv[2] || 8100);
const contentChars = Number(process.argv[3] || 480);
const clients = new Set();
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
  return { message, frame: Buffer.from(`id: ${message.id}\ndata: ${JSON.stringify(message)}\n\n`) };
}

const server = http.createServer((req, res) => {
  if (req.method === "GET" && req.url.startsWith("/api/chat/stream")) {
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", "x-accel-buffering": "no" });
    res.write(`retry: 3000\n\nevent: ready\ndata: {"last_id":${nextId - 1}}\n\n`);
    clients.add(res);
    req.on("close", () => clients.delete(res));
  } else if (req.method === "POST" && req.url === "/api/chat/generate") {
    req.resume();
    req.on("end", () => {
      const { message, frame } = frameFor("claude_arbitrage");
      for (const client of clients) client.write(frame);
      const body = JSON.stringify({ messages: [message] });
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
server.listen(port, "127.0.0.1");
process.on("SIGTERM", () => process.exit(0));
