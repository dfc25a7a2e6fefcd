// -- the operators' dashboard: what wakes a session's live area ------------------------------------
//
// The browser's stream to the hub is the module's own `AgentChatClient`: one stream per browser
// however many dashboard tabs it has open (Web Locks elect the tab that holds it, BroadcastChannel
// shares what arrives), as the viewer page's tabs share theirs. A message, or the stream changing
// state, calls `setTriggerValue("news", …)`, which reruns the live fragment; the rerun draws what the
// session's feed holds (a message is drawn once before that, by the board's preview, see board.js). While the
// stream is down (it failed, or did not open within OPEN_TIMEOUT_MS), the element wakes the fragment by its clock.
// One client per hub per page, kept in `wakes`: a rerun reuses it; an unmounted element's client is
// closed a few seconds later unless the next page mounts the element again, so switching pages does
// not reconnect. `window.__agentchatStreams` names the same map for tests and the Diagnostics page.

const wakes = (window.__agentchatStreams ||= new Map());
const COALESCE_MS = 10; // a round is six messages within a millisecond or two: one rerun
// A stream not open by then is `down` (the clock wakes the fragment). Not before: what arrives while it opens is
// replayed from `since` when it does, and a busy browser (many pages loading at once) was rerun every second
// by the clock while its streams were still opening, which made it busier still.
const OPEN_TIMEOUT_MS = 6000;
const CLOSE_LATER_MS = 5000; // an unmounted element's stream lives on this long, for the next page

function wakeEntry(hub, since, pollSeconds) {
  let entry = wakes.get(hub);
  if (entry) return entry;
  entry = {
    listeners: new Set(),
    highest: since,
    sent: 0,
    timer: null,
    closeTimer: null,
    state: "connecting",
    reason: "",
    role: "",
    clockMs: 0,
    clock: null,
    clockMsRunning: 0,
    resets: 0,
  };
  // The session's feed holds the messages: this one keeps the position, and a few per agent so that a
  // preview's reply can name whom it answers.
  const client = new AgentChatClient({ hub, maxPerAgent: 5, pollSeconds });
  client.feed.lastId = since; // live from what the session has read: the hub replays only what is newer
  entry.client = client;
  client.addEventListener("messages", (event) => {
    for (const board of previewing.get(hub) ?? []) board.preview(event.detail); // drawn before the rerun
  });
  const tell = (kind) => entry.listeners.forEach((listener) => listener(kind));
  const report = (state, reason) => {
    if (entry.state === state && entry.reason === reason && entry.role === client.role) return;
    entry.state = state;
    entry.reason = reason;
    entry.role = client.role;
    retime(entry);
    tell("state");
  };
  const opening = setTimeout(() => {
    if (entry.state !== "open") report("down", `no stream within ${OPEN_TIMEOUT_MS / 1000} s`);
  }, OPEN_TIMEOUT_MS);
  client.addEventListener("change", () => {
    const { state, reason } = client.status;
    const wasOpen = entry.state === "open";
    if (state === "realtime") {
      clearTimeout(opening);
      report("open", "");
      if (!wasOpen) tell("ready");
    } else if (state === "polling" || state === "error") {
      report("down", reason);
      if (wasOpen) tell("error");
    }
    const feed = client.feed;
    if (feed.resets !== entry.resets) {
      entry.resets = feed.resets; // another store behind the hub: the session's feed reads it again
      entry.highest = 0;
      tell("unavailable");
    }
    if (feed.lastId > entry.highest) {
      entry.highest = feed.lastId;
      if (entry.timer === null) {
        entry.timer = setTimeout(() => {
          entry.timer = null;
          tell("message");
        }, COALESCE_MS);
      }
    }
  });
  client.start();
  wakes.set(hub, entry);
  return entry;
}

// While the stream is down the fragment is woken by the clock instead, every `clockMs` (0: never).
function retime(entry) {
  const wanted = entry.state === "down" ? entry.clockMs : 0;
  if (wanted === entry.clockMsRunning) return;
  clearInterval(entry.clock);
  entry.clock = wanted ? setInterval(() => entry.listeners.forEach((listener) => listener("clock")), wanted) : null;
  entry.clockMsRunning = wanted;
}

/** The wake-up element: invisible; reports `link` (and `role`) as state, and `news` as a trigger.
 *
 * The state is set when it differs from what the session read of it in the run that drew the element
 * (`data.link`, `data.role`), not at every call: Streamlit calls this again whenever the element's data
 * changes (its `since` moves with every message), and a state value set again, even unchanged, reruns
 * the fragment a second time for every message. A session that lost the value (a page switch drops an
 * element's state, or a value set just before it) is told again by the next call. */
function mountWake({ data, setTriggerValue, setStateValue }) {
  const hub = hubBase(data.hub_url);
  const entry = wakeEntry(hub, Number(data.since) || 0, Number(data.poll_seconds) || 45);
  clearTimeout(entry.closeTimer);
  entry.listeners.clear(); // this mount's callbacks replace the last one's
  let told = { link: data.link ?? null, role: data.role ?? "" };
  const listener = (kind) => {
    if (kind === "state") {
      const link = entry.state === "open" ? "open" : `down: ${entry.reason}`;
      if (told.link === link && told.role === entry.role) return;
      told = { link, role: entry.role };
      setStateValue("link", link);
      setStateValue("role", entry.role);
      return;
    }
    entry.sent += 1;
    setTriggerValue("news", { kind, id: entry.highest, n: entry.sent });
  };
  entry.listeners.add(listener);
  entry.clockMs = Number(data.clock_ms) || 0;
  retime(entry);
  if (entry.state !== "connecting") listener("state");
  return () => {
    entry.listeners.delete(listener);
    entry.closeTimer = setTimeout(() => {
      if (entry.listeners.size === 0) {
        entry.client.close();
        clearInterval(entry.clock);
        wakes.delete(hub);
      }
    }, CLOSE_LATER_MS);
  };
}

/** One module for the dashboard's elements: the wake-up is the one whose data has `hub_url`, the standings
 * line the one with `standings`, the live chat the other. Each element's data comes as a one-item list
 * (`board.mount` says why). */
export default function (given) {
  const args = { ...given, data: Array.isArray(given.data) ? given.data[0] : given.data };
  if (args.data && typeof args.data.hub_url === "string") return mountWake(args);
  if (args.data && Array.isArray(args.data.standings)) return mountStandings(args);
  return mountBoard(args);
}
