/**
 * agentchat.js: the hub's agents' chat in a browser. One ES module, no build step, no dependency;
 * the hub serves it at /agentchat.js, and importing it defines <agent-chat>:
 *
 *   <script type="module" src="https://hub.example/agentchat.js"></script>
 *   <agent-chat hub="https://hub.example" agents="claude_arbitrage,grok_sentiment"></agent-chat>
 *
 * Layers, each usable alone: `Feed` (what is kept), `HubConnection` (one stream, polling while it
 * is down), `AgentChatClient` (one connection per browser, shared by its tabs), `AgentChatElement`
 * (the view). Deliberate choices, each for a reason:
 *
 * - Native EventSource. It resumes by itself with Last-Event-ID after a dropped stream; the first
 *   connect passes the position as `?last_event_id=` (EventSource cannot set headers), so the hub
 *   replays what it retains after it and goes live with no gap and no duplicate.
 * - A browser's EventSource gives up for good after an HTTP error, and otherwise retries at a fixed
 *   pace. This client lets it retry once by itself after a healthy stream (a hub restart), then
 *   closes it and opens a new one with exponential backoff and jitter, forever, never less often
 *   than a poll. Meanwhile it polls `GET /api/chat/messages?since_id=` with If-None-Match every
 *   poll period. A poll that reaches a hub thought down tries the stream at once.
 * - Two heartbeat periods without an event is a dead stream (a half-open TCP connection never
 *   fails by itself).
 * - One stream per browser, not per tab. Tabs showing the same hub and agents elect the holder of
 *   the stream with the Web Locks API and share what it receives over a BroadcastChannel; a new tab
 *   asks the holder for what it has. When the holder's tab closes, the browser hands the lock to
 *   another tab, which opens the stream from the last id it saw: the hub replays the rest, dedupe
 *   by id drops any overlap. Where those APIs are missing, each tab holds its own stream.
 * - Dedupe with bounded memory: at most `maxPerAgent` messages per agent; an arrival whose id is
 *   kept, or that is older than everything kept for a full agent, changes nothing.
 * - Books only when shown: a client made with `books: true` (the element with a `standings` attribute)
 *   opens its stream with `books=1`; the hub then sends the full books as the stream goes live and
 *   each round's changes after it (`Books.take` merges them; a frame of a round not newer than the
 *   one held is ignored). Without it the hub sends no book frame at all.
 * - Safe by construction: agent text is only ever set with textContent, agent colours only through
 *   the CSSOM and only as #RRGGBB, so the page's CSP (script-src 'self', style-src 'self') holds.
 */

// The hub's contract (agentchat/contract.py, under the same names; tests/test_contract.py holds them equal).
const STREAM_PATH = "/api/chat/stream";
const MESSAGES_PATH = "/api/chat/messages";
const VIEWER_CONFIG_PATH = "/api/viewer/config";
const MESSAGES_PAGE_LIMIT = 1000; // the hub's maximum `limit` on MESSAGES_PATH
const BACKOFF_BASE_MS = 1000;
const BACKOFF_CAP_MS = 10000;
const LIVENESS_SLACK_MS = 1000;
const AGE_TICK_MS = 1000;
const COLOR = /^#[0-9A-Fa-f]{6}$/;
/** The texts the dashboard shows too (tests/test_shared_rules.py holds the two copies equal). */
export const EMPTY_TEXT = "Waiting for agent messages…";
export const GAP_TEXT = "Some messages were removed by the hub's retention before this page could read them.";
export const KINDS = Object.freeze(["analysis", "trade", "reply", "alert"]);

/** The status pill, exactly as the dashboard words it. */
export const PILLS = Object.freeze({
  connecting: "⚪ Connecting",
  realtime: "🟢 Real-time (SSE)",
  polling: "🟡 Polling (fallback)",
  error: "🔴 Error",
});

/** The hub's base URL, without a trailing slash: `value` (an attribute) or where this module came from. */
export function hubBase(value) {
  const url = value ? new URL(value, location.href) : new URL("./", import.meta.url);
  return url.href.replace(/\/+$/, "");
}

function hubUrl(hub, path, params) {
  const url = new URL(hub + path);
  for (const [key, value] of Object.entries(params)) {
    if (value !== "" && value !== null && value !== undefined) url.searchParams.set(key, String(value));
  }
  return url.href;
}

function parseJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

function isMessage(value) {
  return (
    value !== null &&
    typeof value === "object" &&
    Number.isSafeInteger(value.id) &&
    typeof value.agent_id === "string" &&
    typeof value.content === "string"
  );
}

/** Exponential backoff with jitter: a delay in [ceiling / 2, ceiling], ceiling = min(cap, base * 2^attempt). */
function backoffMs(attempt, capMs) {
  const ceiling = Math.min(capMs, BACKOFF_BASE_MS * 2 ** Math.min(attempt, 16));
  return ceiling * (0.5 + Math.random() / 2);
}

/** What a failed request tells a person: the hub's own `error: detail`, else the status. */
async function refusal(response) {
  const body = parseJson(await response.text().catch(() => ""));
  const phrase = body && typeof body.error === "string" ? `${body.error}: ${body.detail ?? ""}` : response.statusText;
  return `the hub answered ${response.status}${phrase ? ` (${phrase})` : ""}`;
}

/** Why a request that never got an answer failed, as far as a page can know. */
function unreachable(hub) {
  const crossOrigin = new URL(hub).origin !== location.origin;
  const why = crossOrigin ? "it is down, or its AGENTCHAT_CORS_ORIGINS does not allow this page's origin" : "it is down";
  return `cannot reach the hub at ${hub} (${why})`;
}

/** The hub's viewer config: roster, max_per_agent, poll_seconds. Throws an Error with a readable message. */
export async function fetchConfig(hub) {
  let response;
  try {
    response = await fetch(hub + VIEWER_CONFIG_PATH, { cache: "no-store" });
  } catch {
    throw new Error(unreachable(hub));
  }
  if (!response.ok) throw new Error(await refusal(response));
  const config = await response.json();
  return {
    agents: Array.isArray(config.agents) ? config.agents : [],
    maxPerAgent: Number(config.max_per_agent) || 20,
    pollSeconds: Number(config.poll_seconds) || 45,
  };
}

/** The messages kept: newest first per agent, at most `maxPerAgent` each, each id once. */
export class Feed {
  constructor(maxPerAgent) {
    this.maxPerAgent = maxPerAgent;
    this.byAgent = new Map();
    this.byId = new Map();
    this.lastId = 0; // the highest id seen: where a stream resumes
    this.duplicates = 0;
    this.storeId = null; // the hub's store the kept ids belong to
    this.resets = 0; // times another store turned up and everything kept was dropped
  }

  /** Note the hub's store; another one than before (a reset or replaced database) empties the feed. */
  followStore(storeId) {
    if (typeof storeId !== "string" || !storeId || storeId === this.storeId) return false;
    const known = this.storeId;
    this.storeId = storeId;
    if (known === null) return false;
    this.byAgent.clear();
    this.byId.clear();
    this.lastId = 0;
    this.resets += 1;
    return true;
  }

  /** Add what arrived; true when anything kept changed. */
  add(messages) {
    let changed = false;
    for (const message of messages) {
      if (!isMessage(message)) continue;
      this.lastId = Math.max(this.lastId, message.id);
      if (this.byId.has(message.id)) {
        this.duplicates += 1;
        continue;
      }
      const kept = this.byAgent.get(message.agent_id) ?? [];
      let at = kept.findIndex((other) => other.id < message.id);
      if (at === -1) at = kept.length;
      if (at >= this.maxPerAgent) continue; // older than everything kept for a full agent
      kept.splice(at, 0, message);
      this.byId.set(message.id, message);
      if (kept.length > this.maxPerAgent) this.byId.delete(kept.pop().id);
      this.byAgent.set(message.agent_id, kept);
      changed = true;
    }
    return changed;
  }

  of(agentId) {
    return this.byAgent.get(agentId) ?? [];
  }

  get(id) {
    return this.byId.get(id);
  }

  /** Everything kept, oldest first: what a holder hands a new tab. */
  all() {
    return [...this.byId.values()].sort((a, b) => a.id - b.id);
  }
}

/**
 * The agents' books from `event: book` frames, as the hub's `GET /api/agents/performance` shows them:
 * a full frame replaces them, a change of a later round merges field by field and position by
 * position (`null` closes one; `marks` is the new `mark_price` of every position in its symbol).
 */
export class Books {
  constructor() {
    this.byAgent = new Map();
    this.round = null;
    this.asOf = null;
  }

  /** Merge one frame's data; true when the books changed. */
  take(frame) {
    if (frame === null || typeof frame !== "object" || !Number.isSafeInteger(frame.round)) return false;
    if (frame.full === true || frame.full === undefined) {
      if (!Array.isArray(frame.agents)) return false;
      this.byAgent = new Map(frame.agents.map((entry) => [entry.agent_id, entry]));
    } else {
      if (this.round === null || frame.round <= this.round) return false; // nothing to change yet, or covered
      const marks = frame.marks && typeof frame.marks === "object" ? frame.marks : {};
      for (const [agentId, entry] of this.byAgent) {
        const positions = (entry.positions ?? []).map((p) => (p.symbol in marks ? { ...p, mark_price: marks[p.symbol] } : p));
        this.byAgent.set(agentId, { ...entry, positions });
      }
      for (const [agentId, change] of Object.entries(frame.changes ?? {})) {
        const { positions: moved, ...fields } = change;
        const entry = { agent_id: agentId, positions: [], ...this.byAgent.get(agentId), ...fields };
        if (moved && typeof moved === "object") {
          const bySymbol = new Map(entry.positions.map((p) => [p.symbol, p]));
          for (const [symbol, position] of Object.entries(moved)) {
            if (position === null) bySymbol.delete(symbol);
            else {
              const own = "mark_price" in position || !(symbol in marks) ? {} : { mark_price: marks[symbol] };
              bySymbol.set(symbol, { symbol, ...bySymbol.get(symbol), ...own, ...position });
            }
          }
          entry.positions = [...bySymbol.keys()].sort().map((symbol) => bySymbol.get(symbol));
        }
        this.byAgent.set(agentId, entry);
      }
    }
    this.round = frame.round;
    this.asOf = frame.as_of ?? null;
    return true;
  }

  /** Ranked as the hub ranks: highest equity first, equal equity in agent id order. */
  ranked() {
    return [...this.byAgent.values()].sort((a, b) => b.equity - a.equity || (a.agent_id < b.agent_id ? -1 : 1));
  }

  /** The books as one full frame (what a new tab is handed). */
  full() {
    return this.round === null ? null : { round: this.round, as_of: this.asOf, full: true, agents: this.ranked() };
  }
}

/**
 * One stream to the hub, with polling while it is down. `position()` is the last id seen;
 * `onMessages(list)` and `onStatus({state, reason, gap})` report what happens, and
 * `onStore(storeId)` is told the hub's store, returning true when it is another one than before
 * (the feed has emptied and position() is 0 again).
 */
export class HubConnection {
  constructor({ hub, agents, pollSeconds, position, onMessages, onStatus, onStore = () => false, onBook = null }) {
    this.hub = hub;
    this.agents = agents.join(",");
    this.onBook = onBook; // set: the stream asks for `event: book` frames (`books=1`)
    this.pollMs = pollSeconds * 1000;
    this.position = position;
    this.onMessages = onMessages;
    this.onStatus = onStatus;
    this.onStore = onStore;
    this.source = null;
    this.openedFrom = 0;
    this.healthy = false;
    this.failures = 0;
    this.gap = false;
    this.state = null;
    this.reason = null;
    this.reportedGap = false;
    this.streamTrouble = null;
    this.polling = false;
    this.pollTimer = null;
    this.pollAbort = null;
    this.etag = null; // [url, tag] of the last poll answered 200
    this.openTimer = null;
    this.livenessTimer = null;
    this.lastEventAt = 0;
    this.livenessMs = 0;
    this.stopped = true;
  }

  start() {
    this.stopped = false;
    this.open();
  }

  close() {
    this.stopped = true;
    this.closeStream();
    this.stopPolling();
    clearTimeout(this.openTimer);
  }

  open() {
    if (this.stopped) return;
    this.closeStream();
    const from = this.position();
    const books = this.onBook ? 1 : "";
    const params = { agents: this.agents, books, last_event_id: from, details: 1 }; // details: the cards' "why"
    const source = new EventSource(hubUrl(this.hub, STREAM_PATH, params));
    this.source = source;
    this.openedFrom = from;
    source.addEventListener("ready", (event) => this.ready(source, event));
    source.addEventListener("message", (event) => this.frame(source, event));
    source.addEventListener("heartbeat", () => this.alive(source));
    if (this.onBook) source.addEventListener("book", (event) => this.book(source, event));
    source.addEventListener("error", () => this.failed(source));
  }

  closeStream() {
    clearInterval(this.livenessTimer);
    if (this.source) this.source.close();
    this.source = null;
    this.healthy = false;
  }

  ready(source, event) {
    if (source !== this.source) return;
    const ready = parseJson(event.data) ?? {};
    let resumedFrom = Number(event.lastEventId || this.openedFrom); // what the browser sent, on its own retry
    if (this.onStore(ready.store_id)) {
      if (resumedFrom > 0 && ready.gap !== true) {
        this.open(); // this replay starts after an id of the old store: read the new one from the start
        return;
      }
      resumedFrom = 0;
    }
    // From position 0 a gap is only retention doing its job; after a real position it is a loss.
    this.gap = this.gap || (ready.gap === true && resumedFrom > 0);
    this.healthy = true;
    this.failures = 0;
    this.stopPolling();
    const heartbeatMs = (Number(ready.heartbeat_seconds) || 30) * 1000;
    this.livenessMs = 2 * heartbeatMs + LIVENESS_SLACK_MS;
    this.alive(source);
    clearInterval(this.livenessTimer);
    this.livenessTimer = setInterval(() => this.checkAlive(source), this.livenessMs / 4);
    this.report("realtime", `connected to ${this.hub}`);
  }

  frame(source, event) {
    if (source !== this.source) return;
    this.alive(source);
    const message = parseJson(event.data);
    if (message) this.onMessages([message]);
  }

  book(source, event) {
    if (source !== this.source) return;
    this.alive(source);
    const frame = parseJson(event.data);
    if (frame) this.onBook(frame);
  }

  alive(source) {
    if (source === this.source) this.lastEventAt = performance.now();
  }

  checkAlive(source) {
    if (source === this.source && performance.now() - this.lastEventAt > this.livenessMs) {
      this.closeStream();
      this.down(`no event from ${this.hub} for ${Math.round(this.livenessMs / 1000)} s`);
    }
  }

  failed(source) {
    if (source !== this.source || this.stopped) return;
    if (source.readyState === EventSource.CONNECTING && this.healthy) {
      this.healthy = false; // the browser's own retry, with Last-Event-ID; a second failure is ours
      clearInterval(this.livenessTimer);
      this.streamTrouble = `the stream from ${this.hub} dropped`;
      this.startPolling();
      return;
    }
    this.closeStream();
    this.down(`the stream from ${this.hub} failed`);
  }

  /** The stream is gone: poll meanwhile, open it again after a backoff. */
  down(why) {
    this.streamTrouble = why;
    clearTimeout(this.openTimer);
    this.openTimer = setTimeout(() => this.open(), backoffMs(this.failures, Math.min(BACKOFF_CAP_MS, this.pollMs)));
    this.failures += 1;
    this.startPolling();
  }

  startPolling() {
    if (this.polling) return;
    this.polling = true;
    this.poll();
  }

  stopPolling() {
    this.polling = false;
    clearTimeout(this.pollTimer);
    if (this.pollAbort) this.pollAbort.abort();
    this.pollAbort = null;
  }

  async poll() {
    clearTimeout(this.pollTimer);
    const abort = new AbortController();
    this.pollAbort = abort;
    let again = this.pollMs;
    const since = this.position();
    const url = hubUrl(this.hub, MESSAGES_PATH, { agents: this.agents, since_id: since, limit: MESSAGES_PAGE_LIMIT });
    const headers = this.etag && this.etag[0] === url ? { "If-None-Match": this.etag[1] } : {};
    try {
      const response = await fetch(url, { headers, cache: "no-store", signal: abort.signal });
      if (response.status === 304) {
        this.polled();
      } else if (response.ok) {
        const body = await response.json();
        const messages = Array.isArray(body.messages) ? body.messages : [];
        const tag = response.headers.get("ETag");
        this.etag = tag ? [url, tag] : null;
        const another = this.onStore(body.store_id);
        if (another && this.source) {
          // The browser's own retry of the stream would resume after an id of the old store, and the
          // new store's messages up to that id would never come: open a fresh stream instead.
          this.closeStream();
          this.down(`another store is behind ${this.hub}`);
        }
        if (another && since > 0 && body.gap !== true) {
          again = 0; // this page starts after an id of the old store: read the new one from the start
        } else {
          if (messages.length) this.onMessages(messages);
          if (messages.length >= MESSAGES_PAGE_LIMIT) again = 0; // more to read
        }
        this.polled();
      } else {
        this.report("error", await refusal(response));
      }
    } catch {
      if (abort.signal.aborted) return;
      this.report("error", unreachable(this.hub));
    }
    if (this.polling && !this.stopped && this.pollAbort === abort) {
      this.pollTimer = setTimeout(() => this.poll(), again);
    }
  }

  polled() {
    const wasError = this.state === "error";
    this.report("polling", `${this.streamTrouble ?? "the stream is down"}; polling every ${this.pollMs / 1000} s`);
    if (wasError && !this.healthy && !this.stopped) {
      clearTimeout(this.openTimer); // the hub answers again: try the stream now, not at the next retry
      this.open();
    }
  }

  report(state, reason) {
    if (state === this.state && reason === this.reason && this.gap === this.reportedGap) return;
    this.reportedGap = this.gap;
    this.state = state;
    this.reason = reason;
    this.onStatus({ state, reason, gap: this.gap });
  }
}

/**
 * The agents' chat for one hub and agent filter, over one stream per browser. Dispatches `change`
 * when messages or status change; `role` is "held" (this tab holds the shared stream), "shared"
 * (another tab does) or "own" (no sharing: Web Locks or BroadcastChannel missing, or `share: false`).
 */
export class AgentChatClient extends EventTarget {
  constructor({ hub, agents = [], maxPerAgent = 20, pollSeconds = 45, share = true, books = false } = {}) {
    super();
    this.books = books ? new Books() : null; // the standings, when shown: the stream asks for books
    this.hub = hubBase(hub);
    this.agents = [...agents].sort();
    this.pollSeconds = pollSeconds;
    this.feed = new Feed(maxPerAgent);
    this.status = { state: "connecting", reason: `to ${this.hub}`, gap: false };
    this.share = share && typeof navigator.locks?.request === "function" && typeof BroadcastChannel === "function";
    this.role = this.share ? "shared" : "own";
    this.connection = null;
    this.channel = null;
    this.release = null;
    this.abort = null;
    this.closed = false;
  }

  start() {
    if (!this.share) {
      this.hold();
      return this;
    }
    const key = `agentchat ${this.hub} ${this.agents.join(",")}${this.books ? " books" : ""}`;
    this.channel = new BroadcastChannel(key);
    this.channel.onmessage = (event) => this.hear(event.data);
    this.abort = new AbortController();
    this.status = { ...this.status, reason: "waiting for the tab that holds the stream" };
    navigator.locks
      .request(key, { signal: this.abort.signal }, () => {
        if (this.closed) return undefined; // granted as close() aborted: let the next tab have it
        this.role = "held";
        this.hold();
        this.changed();
        return new Promise((resolve) => {
          this.release = resolve;
        });
      })
      .catch(() => {}); // aborted by close() while waiting
    this.channel.postMessage({ type: "hello" });
    return this;
  }

  close() {
    this.closed = true;
    if (this.connection) this.connection.close();
    if (this.release) this.release();
    if (this.abort) this.abort.abort();
    if (this.channel) this.channel.close();
    this.connection = this.release = this.abort = this.channel = null;
  }

  hold() {
    this.connection = new HubConnection({
      hub: this.hub,
      agents: this.agents,
      pollSeconds: this.pollSeconds,
      position: () => this.feed.lastId,
      onMessages: (messages) => {
        this.take(messages);
        this.tell({ type: "messages", messages });
      },
      onStatus: (status) => {
        this.setStatus(status);
        this.tell({ type: "status", status });
      },
      onBook: this.books
        ? (frame) => {
            if (this.books.take(frame)) this.changed();
            this.tell({ type: "book", frame });
          }
        : null,
      onStore: (storeId) => {
        const another = this.feed.followStore(storeId);
        this.tell({ type: "store", storeId });
        if (another) this.changed();
        return another;
      },
    });
    this.connection.start();
  }

  tell(news) {
    if (this.channel && this.role === "held") this.channel.postMessage(news);
  }

  hear(news) {
    if (news === null || typeof news !== "object") return;
    if (this.role === "held") {
      if (news.type === "hello") {
        const book = this.books?.full() ?? null;
        this.tell({ type: "snapshot", storeId: this.feed.storeId, messages: this.feed.all(), status: this.status, book });
      }
      return;
    }
    if (this.feed.followStore(news.storeId)) this.changed();
    if (Array.isArray(news.messages)) this.take(news.messages);
    if (this.books && news.book && this.books.take(news.book)) this.changed();
    if (this.books && news.frame && news.type === "book" && this.books.take(news.frame)) this.changed();
    if (news.status && typeof news.status === "object") {
      this.setStatus({ ...news.status, reason: `${news.status.reason} (through another tab)` });
    }
  }

  /** Keep what arrived; a `messages` event (its `detail`: the arrivals past the highest id seen before)
   * comes before the `change` event, for a view that draws arrivals itself (the dashboard's previews). */
  take(messages) {
    const from = this.feed.lastId;
    const changed = this.feed.add(messages);
    const arrived = messages.filter((message) => isMessage(message) && message.id > from);
    if (arrived.length > 0) this.dispatchEvent(new CustomEvent("messages", { detail: arrived }));
    if (changed) this.changed();
  }

  setStatus(status) {
    this.status = { state: status.state, reason: String(status.reason ?? ""), gap: status.gap === true };
    this.changed();
  }

  changed() {
    this.dispatchEvent(new Event("change"));
  }
}

// -- the view -------------------------------------------------------------------------------------

/** 'just now', '10 s ago', '4 min ago', '2 h ago' (as the dashboard says it). Seconds in steps of 5: the
 * text, and so the page, changes every 5 s rather than every second while a card is under a minute old
 * (each change is a frame of every open page; the card's clock time says the exact moment). */
export function relativeAge(seconds) {
  if (seconds < 5) return "just now";
  if (seconds < 60) return `${Math.floor(seconds / 5) * 5} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  return `${Math.floor(seconds / 3600)} h ago`;
}

/** Seconds until `relativeAge` words an age of `seconds` (now) otherwise. */
export function ageChangesIn(seconds) {
  if (seconds < 60) return 5 - (seconds % 5);
  if (seconds < 3600) return 60 - (seconds % 60);
  return 3600 - (seconds % 3600);
}

/** '71,234.5': at most 8 significant digits, thousands separated (Python's `{:,.8g}` below 1e8). */
const NUMBER = new Intl.NumberFormat("en-US", { maximumSignificantDigits: 8 });
function number(value) {
  return NUMBER.format(value);
}

/** The message id `value` names, read as Python's int() reads it (the dashboard's rule); null if none. */
function replyTarget(value) {
  if (typeof value === "boolean") return Number(value);
  if (typeof value === "number") return Number.isFinite(value) ? Math.trunc(value) : null;
  if (typeof value === "string" && /^\s*[+-]?\d+(_\d+)*\s*$/.test(value)) return Number(value.replaceAll("_", ""));
  return null;
}

/** 'BTC · buy 0.25 · 71,234.5 · confidence 72% · ↩ #41 Claude Arbitrage', from whatever meta there is. */
export function metaLine(message, nameOf) {
  const meta = message.meta;
  if (meta === null || typeof meta !== "object") return "";
  const parts = ["symbol", "side"].filter((key) => meta[key]).map((key) => String(meta[key]));
  if (meta.side && typeof meta.quantity === "number" && Number.isFinite(meta.quantity)) {
    parts[parts.length - 1] += ` ${number(Math.abs(meta.quantity))}`; // 'buy 0.25': what the message traded
  }
  if (typeof meta.price === "number") parts.push(number(meta.price));
  if (typeof meta.confidence === "number") parts.push(`confidence ${Math.round(meta.confidence * 100)}%`);
  const target = replyTarget(meta.reply_to);
  if (target !== null) {
    const who = nameOf(target);
    parts.push(who ? `↩ #${target} ${who}` : `↩ #${target}`);
  }
  return parts.join(" · ");
}

/**
 * The "why" under a card: a folded `<details>` with the agent's reasoning and the rest of its
 * `details` (inputs, decision, the engine's numbers) as indented JSON; null for a message without
 * any. Every string is set as textContent, so an agent's details are never markup.
 */
export function whyDisclosure(details) {
  if (typeof details === "string") details = details ? { reasoning: details } : null;
  if (details === null || typeof details !== "object" || Array.isArray(details)) return null;
  const { reasoning, ...rest } = details;
  const box = element("details", "why");
  box.append(element("summary", "why-summary", "why"));
  if (reasoning !== undefined) box.append(element("p", "why-reasoning", String(reasoning)));
  if (Object.keys(rest).length > 0) box.append(element("pre", "why-data", JSON.stringify(rest, null, 2)));
  return box;
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** One agent's column (header with dot, name and strategy; the empty line; the card list), coloured
 * `color` when that is '#RRGGBB': the viewer's columns and the dashboard board's columns and tabs. */
export function agentColumn(agent, color) {
  const column = element("section", "column");
  if (COLOR.test(color ?? "")) column.style.setProperty("--agent", color);
  column.dataset.agent = agent.id;
  const head = element("header", "agent");
  const name = element("h2", "name");
  name.append(element("span", "dot", "●"), document.createTextNode(` ${agent.name}`));
  head.append(name, element("p", "strategy", String(agent.strategy ?? "").replaceAll("_", " ")));
  const empty = element("p", "empty", EMPTY_TEXT);
  const list = element("div", "cards");
  column.append(head, empty, list);
  return { column, list, empty };
}

// The formats are built once: `toLocaleString(locale, options)` builds one at every call, which was most of
// what drawing a card cost (a full window is 120 cards, drawn at every page load).
const CLOCK = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
const FULL_TIME = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "long" });

/** '14:03:21' in the reader's own time zone (and the whole date and zone on hover, `fullTime`). */
export function clockTime(ms) {
  return CLOCK.format(ms);
}

export function fullTime(ms) {
  return FULL_TIME.format(ms);
}

/**
 * The message cards, kept by message id: the one renderer of the viewer page, `<agent-chat>` and the
 * operators' dashboard. `sync(list, messages)` makes `list` hold one card per message in that order,
 * creating only the cards it has not drawn yet and moving none that is already in place, so a new
 * message adds one node and nothing else in the DOM changes. Text only ever goes in by textContent.
 */
export class CardRenderer {
  constructor() {
    this.cards = new Map();
  }

  clear() {
    this.cards.clear();
  }

  /** `nameOf(id)`: the agent name of a message id (for '↩ #41 Claude Arbitrage'); `agentOf(message)`:
   * the agent to name on the card itself (a merged timeline), or null. */
  sync(list, messages, nameOf, agentOf = () => null) {
    const wanted = new Set(messages.map((message) => message.id));
    for (const card of [...list.children]) {
      const id = Number(card.dataset.id);
      if (!wanted.has(id)) {
        card.remove();
        if (this.cards.get(id) === card) this.cards.delete(id);
      }
    }
    let next = list.firstElementChild;
    const now = Date.now();
    for (const message of messages) {
      let card = this.cards.get(message.id);
      if (!card || (card.parentNode !== list && card.parentNode !== null)) {
        card = this.card(message, nameOf, agentOf(message), now);
        this.cards.set(message.id, card);
      }
      if (card === next) next = next.nextElementSibling;
      else list.insertBefore(card, next);
    }
  }

  card(message, nameOf, agent, now = Date.now()) {
    const card = element("article", "card");
    card.dataset.id = String(message.id);
    card.dataset.kind = String(message.kind ?? "");
    const head = element("header", "card-head");
    if (agent) {
      card.dataset.agent = String(agent.id ?? "");
      const color = agent.nameColor ?? agent.color;
      if (COLOR.test(color)) card.style.setProperty("--agent", color);
      head.append(element("span", "card-agent", String(agent.name ?? "")));
    }
    const created = Date.parse(message.created_at);
    const age = element("span", "age");
    age.dataset.createdAt = Number.isFinite(created) ? String(created) : "";
    head.append(element("span", "badge", String(message.kind ?? "")), age);
    if (Number.isFinite(created)) {
      const time = element("time", "clock", clockTime(created));
      time.dateTime = new Date(created).toISOString();
      time.title = fullTime(created);
      age.title = time.title;
      head.append(time);
    }
    head.append(element("span", "id", `#${message.id}`));
    card.append(head, element("p", "content", message.content));
    const meta = metaLine(message, nameOf);
    if (meta) card.append(element("p", "meta", meta));
    const why = whyDisclosure(message.details);
    if (why) card.append(why);
    CardRenderer.age(age, now);
    return card;
  }

  /** Word the age of `node` at `now`; the milliseconds until that wording changes (Infinity: never). */
  static age(node, now) {
    const created = Number(node.dataset.createdAt);
    const seconds = Math.max(0, (now - created) / 1000);
    const text = created ? relativeAge(seconds) : "";
    if (node.textContent !== text) node.textContent = text;
    return created ? ageChangesIn(seconds) * 1000 : Infinity;
  }

  /** Move every age under `root` to `now`: only the age texts that changed are written. Returns when
   * the first of them changes next. */
  static tickAges(root, now = Date.now()) {
    let next = Infinity;
    for (const node of root.querySelectorAll(".age")) next = Math.min(next, CardRenderer.age(node, now));
    return now + next;
  }
}

/**
 * Moves the ages under `root` by the browser's clock. It looks every second, but walks the ages only
 * when one of their texts is due to change: a walk over a full window is a few milliseconds of the
 * page's main thread, and most seconds no text changes ("3 min ago" stands for a minute), so an idle
 * page costs next to nothing. `drawn()` says ages were drawn since, which may be due sooner.
 */
export class AgeClock {
  constructor(root) {
    this.root = root;
    this.dueAt = 0;
    this.walks = 0; // how often the ages were walked (for tests)
    this.timer = setInterval(() => this.tick(), AGE_TICK_MS);
  }

  drawn() {
    this.dueAt = 0;
  }

  tick(now = Date.now()) {
    if (now < this.dueAt) return;
    this.walks += 1;
    this.dueAt = CardRenderer.tickAges(this.root, now);
  }

  stop() {
    clearInterval(this.timer);
  }
}

/**
 * `<agent-chat hub="..." agents="a,b" max-per-agent="20" poll-seconds="45">`: the live chat, one
 * column per agent. `hub` defaults to where this module came from; the others to the hub's config.
 * With `url-params`, the page's own `?agents=` and `?poll_seconds=` choose (the hub's page uses it).
 */
export class AgentChatElement extends HTMLElement {
  connectedCallback() {
    if (!this.shadowRoot) this.build();
    this.attempt = 0;
    this.boot();
  }

  disconnectedCallback() {
    clearTimeout(this.bootTimer);
    this.ages?.stop();
    if (this.client) this.client.close();
    this.client = null;
  }

  option(attribute, parameter) {
    if (this.hasAttribute("url-params")) {
      const value = new URLSearchParams(location.search).get(parameter);
      if (value) return value;
    }
    return this.getAttribute(attribute);
  }

  build() {
    const root = this.attachShadow({ mode: "open" });
    const style = element("link");
    style.rel = "stylesheet";
    style.href = new URL("agentchat.css", import.meta.url).href;
    this.pill = element("span", "pill");
    this.reason = element("span", "reason");
    const status = element("div", "status");
    status.append(this.pill, this.reason);
    this.gapNotice = element("p", "gap", GAP_TEXT);
    this.gapNotice.hidden = true;
    this.columnsBox = element("div", "columns");
    root.append(style, status, this.gapNotice, this.columnsBox);
    this.columns = new Map();
    this.cards = new CardRenderer();
    this.resetsDrawn = 0;
    this.showStatus({ state: "connecting", reason: "", gap: false });
  }

  async boot() {
    const hub = hubBase(this.getAttribute("hub"));
    let config;
    try {
      config = await fetchConfig(hub);
    } catch (error) {
      if (!this.isConnected) return;
      this.showStatus({ state: "error", reason: error.message, gap: false });
      this.bootTimer = setTimeout(() => this.boot(), backoffMs(this.attempt++, BACKOFF_CAP_MS));
      return;
    }
    if (!this.isConnected || this.client) return;
    const wanted = (this.option("agents", "agents") ?? "").split(",").map((id) => id.trim()).filter(Boolean);
    const roster = config.agents.filter((agent) => wanted.length === 0 || wanted.includes(agent.id));
    this.layout(roster);
    this.client = new AgentChatClient({
      hub,
      agents: wanted,
      maxPerAgent: Number(this.getAttribute("max-per-agent")) || config.maxPerAgent,
      pollSeconds: Number(this.option("poll-seconds", "poll_seconds")) || config.pollSeconds,
      books: this.hasAttribute("standings"),
    });
    this.client.addEventListener("change", () => this.render());
    this.client.start();
    this.ages = new AgeClock(this.shadowRoot);
    this.render();
  }

  layout(roster) {
    this.columnsBox.replaceChildren();
    this.columns.clear();
    for (const agent of roster) {
      const { column, list, empty } = agentColumn(agent, agent.color);
      this.columnsBox.append(column);
      this.columns.set(agent.id, { list, empty });
    }
  }

  render() {
    if (!this.client) return;
    this.showStatus(this.client.status);
    this.dataset.stream = this.client.role;
    const feed = this.client.feed;
    if (feed.resets !== this.resetsDrawn) {
      this.resetsDrawn = feed.resets; // another store: its ids name other messages than the cards kept
      this.cards.clear();
      for (const { list } of this.columns.values()) list.replaceChildren();
    }
    const nameOf = (id) => feed.get(id)?.agent_name;
    for (const [agentId, { list, empty }] of this.columns) {
      const messages = feed.of(agentId);
      this.cards.sync(list, messages, nameOf);
      empty.hidden = messages.length > 0;
    }
    this.ages?.drawn();
  }

  showStatus(status) {
    this.dataset.state = status.state;
    const [icon, ...words] = (PILLS[status.state] ?? PILLS.error).split(" ");
    this.pill.replaceChildren(element("span", "icon", icon), ` ${words.join(" ")}`); // drawn by CSS, no emoji font needed
    this.pill.dataset.state = status.state;
    this.reason.textContent = status.reason;
    this.gapNotice.hidden = !status.gap;
  }
}

if (!customElements.get("agent-chat")) customElements.define("agent-chat", AgentChatElement);
