// -- the operators' dashboard: the live chat as one Streamlit element ------------------------------
//
// Appended to agentchat.js by `agentchat/dashboard/board.py` (with wake.js), so the element draws its
// cards with the viewer page's own `CardRenderer`: one module, no build step, served by Streamlit from
// the package.
// Streamlit calls the default export at every rerun of the live area with the messages the session's
// feed holds (`data`); the board keeps its nodes between calls (per mount point), so a rerun that
// brings one new message adds one card, and the ages move by the browser's own clock.
//
// Previews: while the session redraws on change (`data.preview`), a message the browser's stream brings
// is drawn at once, as the rerun it wakes will draw it: a picked agent's, past the id the session's feed
// had read (`through`), at most `max_per_agent` a column. The rerun then draws what the feed holds; the
// card, keyed by id, is already there, so nothing changes. Without it a card waited for a round trip to
// Streamlit and the frontend's redraw of the fragment (about 100 ms of the operator's browser per page).

const boards = new WeakMap();
// The messages the board was given, by id, and the names of the messages they reply to: a rerun of the
// live area sends only the messages it did not send before (`full` on a run of the whole page), with
// `ids`, the order of all of them. Per page, not per mount point, so a remounted board still has them.
// The boards drawing the arrivals of the browser's stream to a hub (wake.js hands them over).
const previewing = new Map();
// `previewed`: the ids last drawn ahead of the rerun. `window.__agentchatBoard` names all this for tests.
const given = { messages: new Map(), names: new Map(), missing: 0, previewed: [], previewing };
window.__agentchatBoard = given;
const PREVIEWED_KEPT = 100;

/** The messages `data` stands for, in its order, from what this and earlier data brought; `complete` is
 * false when one is not held (the board then asks for everything again). Forgets what left the window. */
function takeMessages(data) {
  if (data.full) {
    given.messages.clear();
    given.names.clear();
  }
  const brought = (Array.isArray(data.messages) ? data.messages : []).filter(isMessage);
  for (const message of brought) given.messages.set(String(message.id), message);
  if (data.names && typeof data.names === "object") {
    for (const [id, name] of Object.entries(data.names)) if (typeof name === "string") given.names.set(id, name);
  }
  const ids = (Array.isArray(data.ids) ? data.ids : brought.map((message) => message.id)).map(String);
  const messages = [];
  let complete = true;
  for (const id of ids) {
    const message = given.messages.get(id);
    if (message) messages.push(message);
    else complete = false;
  }
  if (given.messages.size > ids.length) {
    const kept = new Set(ids);
    for (const id of given.messages.keys()) if (!kept.has(id)) given.messages.delete(id);
  }
  return { messages, complete };
}

/** `held` (newest first) with the previews before them (all newer), at most `cap` per agent: what the
 * session's feed will hold once it has read them. */
function withPreviews(held, previews, cap) {
  const limit = Number(cap) > 0 ? Number(cap) : Infinity;
  const counts = new Map();
  const kept = [];
  for (const message of [...[...previews.values()].sort((a, b) => b.id - a.id), ...held]) {
    const count = counts.get(message.agent_id) ?? 0;
    if (count >= limit) continue;
    counts.set(message.agent_id, count + 1);
    kept.push(message);
  }
  return kept;
}

/** Show or hide `node`, touching the DOM only when that changes. */
function show(node, shown) {
  if (node.hidden === shown) node.hidden = !shown;
}

/** sRGB relative luminance of '#RRGGBB' or 'rgb(r, g, b)' (WCAG 2), null when it cannot be read. */
function luminance(color) {
  const text = String(color).trim();
  let channels = null;
  const hex = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})/i.exec(text);
  if (hex) channels = hex.slice(1, 4).map((part) => Number.parseInt(part, 16));
  const rgb = /^rgba?\(\s*([\d.]+)[\s,]+([\d.]+)[\s,]+([\d.]+)/i.exec(text);
  if (rgb) channels = rgb.slice(1, 4).map(Number);
  if (!channels) return null;
  const [r, g, b] = channels.map((value) => {
    const c = value / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** "dark" or "light": Streamlit's theme, read from the background colour it gives the element. */
function themeOf(node, fallback) {
  const host = node instanceof ShadowRoot ? node.host : node;
  const background = getComputedStyle(host).getPropertyValue("--st-background-color");
  const light = luminance(background);
  if (light === null) return fallback === "dark" ? "dark" : "light";
  return light < 0.4 ? "dark" : "light";
}

/** Set `node`'s text, touching the DOM only when it changes. */
function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

/** Set `node`'s theme attribute (the palettes of board.css), touching the DOM only when it changes. */
function setTheme(node, theme) {
  if (node.dataset.theme !== theme) node.dataset.theme = theme;
}

/** The figures above the chat, a box each: the label over the value, what it counts on hover. A figure
 * with `since` is an age ("Last message"), moved by the browser's clock as the cards' ages are. */
function drawFigures(node, figures) {
  const list = (Array.isArray(figures) ? figures : []).filter((figure) => figure && typeof figure === "object");
  while (node.children.length > list.length) node.lastElementChild.remove();
  list.forEach((figure, index) => {
    let box = node.children[index];
    if (!box) {
      box = element("div", "figure");
      box.append(element("span", "figure-label"), element("span", "figure-value"));
      node.append(box);
    }
    const [label, value] = box.children;
    setText(label, String(figure.label ?? ""));
    const help = String(figure.help ?? "");
    if (box.title !== help) box.title = help;
    const since = Date.parse(figure.since ?? "");
    if (Number.isFinite(since)) {
      if (value.dataset.createdAt !== String(since)) value.dataset.createdAt = String(since);
      if (!value.classList.contains("age")) value.classList.add("age");
      CardRenderer.age(value, Date.now());
    } else {
      if (value.classList.contains("age")) value.classList.remove("age");
      setText(value, String(figure.value ?? ""));
    }
  });
  show(node, list.length > 0);
}

class Board {
  constructor(parent) {
    this.parent = parent;
    this.figures = element("div", "figures");
    this.root = element("div", "board");
    parent.append(this.figures, this.root);
    this.cards = new CardRenderer();
    this.shape = null; // what the panels were built for: layout and agents
    this.panels = new Map();
    this.tab = null;
    this.ages = new AgeClock(parent);
    this.hub = null; // the hub whose stream this board previews, while the session redraws on change
    this.previews = new Map(); // id -> message drawn ahead of the rerun
    this.data = {};
    this.held = []; // the messages `data` stands for
  }

  close() {
    this.follow(null);
    this.ages.stop();
    this.figures.remove();
    this.root.remove();
  }

  /** Preview the arrivals of the browser's stream to `plan.hub`, or none (`plan` null). */
  follow(plan) {
    const hub = plan && typeof plan.hub === "string" ? hubBase(plan.hub) : null;
    if (hub === this.hub) return;
    previewing.get(this.hub)?.delete(this);
    this.hub = hub;
    if (hub === null) return;
    if (!previewing.has(hub)) previewing.set(hub, new Set());
    previewing.get(hub).add(this);
  }

  /** Messages the browser's stream just brought: draw now those the rerun they wake will draw. One that
   * replies to a message whose author this page cannot name is left to the rerun (the card would keep
   * the shorter meta line). */
  preview(arrived) {
    const plan = this.data.preview;
    if (!plan) return;
    const picked = new Set((Array.isArray(this.data.agents) ? this.data.agents : []).map((agent) => agent.id));
    let drawn = false;
    for (const message of arrived) {
      if (message.id <= Number(plan.through) || !picked.has(message.agent_id) || this.previews.has(message.id)) continue;
      const target = message.meta && typeof message.meta === "object" ? message.meta.reply_to : null;
      if (target !== null && target !== undefined && !this.nameOf(target)) continue;
      this.previews.set(message.id, message);
      given.previewed.push(message.id);
      drawn = true;
    }
    if (given.previewed.length > PREVIEWED_KEPT) given.previewed.splice(0, given.previewed.length - PREVIEWED_KEPT);
    if (drawn) this.draw(this.data, this.held);
  }

  /** The agent name of message `id`: as the session sent it, else from what this page's streams hold. */
  nameOf(id) {
    const key = String(id);
    const held = given.names.get(key) ?? given.messages.get(key)?.agent_name ?? this.previews.get(Number(id))?.agent_name;
    return held ?? wakes.get(this.hub)?.client.feed.get(Number(id))?.agent_name;
  }

  draw(data, held) {
    this.data = data;
    this.held = held;
    const plan = data.preview;
    for (const id of this.previews.keys()) if (!plan || id <= Number(plan.through)) this.previews.delete(id);
    const messages = this.previews.size > 0 ? withPreviews(held, this.previews, plan.max_per_agent) : held;
    const theme = themeOf(this.parent, data.theme);
    setTheme(this.root, theme);
    setTheme(this.figures, theme);
    drawFigures(this.figures, data.figures);
    this.ages.drawn();
    const agents = Array.isArray(data.agents) ? data.agents : [];
    const layout = ["columns", "timeline", "tabs"].includes(data.layout) ? data.layout : "columns";
    const shape = `${layout}|${theme}|${agents.map((agent) => `${agent.id}:${agent.name}`).join(",")}`;
    if (shape !== this.shape) {
      this.shape = shape;
      this.build(layout, agents, theme);
    }
    const nameOf = (id) => this.nameOf(id);
    const byId = new Map(agents.map((agent) => [agent.id, agent]));
    if (layout === "timeline") {
      const { list, empty } = this.panels.get("");
      const agentOf = (message) => {
        const agent = byId.get(message.agent_id);
        return agent ? { ...agent, nameColor: theme === "dark" ? agent.dark : agent.light } : null;
      };
      this.cards.sync(list, messages, nameOf, agentOf);
      show(empty, messages.length === 0);
      return;
    }
    for (const [agentId, { list, empty }] of this.panels) {
      const own = messages.filter((message) => message.agent_id === agentId);
      this.cards.sync(list, own, nameOf);
      show(empty, own.length === 0);
    }
  }

  /** The panels for a layout: a column per agent, one timeline, or a tab per agent. */
  build(layout, agents, theme) {
    this.cards.clear();
    this.panels.clear();
    this.root.replaceChildren();
    this.root.dataset.layout = layout;
    if (layout === "timeline") {
      const column = element("section", "column timeline");
      const empty = element("p", "empty", EMPTY_TEXT);
      const list = element("div", "cards");
      column.append(empty, list);
      this.root.append(column);
      this.panels.set("", { list, empty });
      return;
    }
    const box = element("div", layout === "tabs" ? "tabbed" : "columns");
    let bar = null;
    if (layout === "tabs") {
      bar = element("div", "tabbar");
      bar.setAttribute("role", "tablist");
      this.root.append(bar);
      if (!agents.some((agent) => agent.id === this.tab)) this.tab = agents[0]?.id ?? null;
    }
    for (const agent of agents) {
      const color = theme === "dark" ? agent.dark : agent.light;
      const { column, list, empty } = agentColumn(agent, color);
      if (COLOR.test(agent.color ?? "")) column.style.setProperty("--agent-mark", agent.color);
      box.append(column);
      this.panels.set(agent.id, { list, empty });
      if (bar) {
        const button = element("button", "tab", String(agent.name));
        button.type = "button";
        button.setAttribute("role", "tab");
        if (COLOR.test(color ?? "")) button.style.setProperty("--agent", color);
        const select = () => {
          this.tab = agent.id;
          for (const other of box.children) other.hidden = other.dataset.agent !== agent.id;
          for (const other of bar.children) other.setAttribute("aria-selected", String(other === button));
        };
        button.addEventListener("click", select);
        bar.append(button);
        if (agent.id === this.tab) queueMicrotask(select);
      }
    }
    this.root.append(box);
  }
}

/** The board element: draw `data` into the board kept for this mount point. */
function mountBoard({ parentElement, data, setTriggerValue }) {
  let board = boards.get(parentElement);
  if (!board) {
    board = new Board(parentElement);
    boards.set(parentElement, board);
  }
  const { messages, complete } = takeMessages(data ?? {});
  board.follow(data?.preview ?? null);
  board.draw(data ?? {}, messages);
  if (!complete && !data?.full) {  // (a full data set lacking one has a message the board cannot draw)
    given.missing += 1;
    setTriggerValue("missing", given.missing); // the rerun this causes sends every message again
  }
  return () => {
    board.close();
    boards.delete(parentElement);
  };
}

// The standings line: a second mount of this element (the books arrive after the cards, see board.py);
// its node per mount point, and what each node shows.
const standingsLines = new WeakMap();
const standingsShown = new WeakMap();

/** Each agent by rank in its readable colour, with its equity and return; the round under it. Rebuilt
 * only when what it shows changed (a round, the next round's minute), else no node is touched. */
function drawStandings(node, data, theme) {
  const rows = (Array.isArray(data.standings) ? data.standings : []).filter((row) => row?.agent);
  const error = typeof data.error === "string" ? data.error : "";
  const caption = typeof data.caption === "string" ? data.caption : "";
  setTheme(node, theme);
  const shown = JSON.stringify([rows, error, caption]);
  if (standingsShown.get(node) === shown) return;
  standingsShown.set(node, shown);
  node.replaceChildren();
  if (error) node.append(element("p", "standings-caption", error));
  if (rows.length > 0) {
    const line = element("p", "standings-line");
    rows.forEach((row, index) => {
      const entry = element("span", "standing");
      entry.dataset.agent = String(row.agent.id ?? "");
      const name = element("span", "standing-name", String(row.agent.name ?? ""));
      const color = theme === "dark" ? row.agent.dark : row.agent.light;
      if (COLOR.test(color ?? "")) name.style.setProperty("--agent", color);
      const place = element("b", "standing-place", `${Number(row.rank)}. `);
      place.append(name);
      entry.append(place, document.createTextNode(` ${row.equity ?? ""} ${row.return ?? ""}`));
      if (index > 0) line.append(document.createTextNode(" · "));
      line.append(entry);
    });
    node.append(line, element("p", "standings-caption", caption));
  }
  show(node, rows.length > 0 || error !== "");
}

/** The standings element: draw `data` into the line kept for this mount point. */
function mountStandings({ parentElement, data }) {
  let node = standingsLines.get(parentElement);
  if (!node) {
    node = element("div", "standings");
    parentElement.append(node);
    standingsLines.set(parentElement, node);
  }
  drawStandings(node, data, themeOf(parentElement, data.theme));
  return () => {
    node.remove();
    standingsLines.delete(parentElement);
  };
}
