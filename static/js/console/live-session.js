// The live panel on a session's page: follows the interview over the session's socket
// (live.watch). Updates are numbered; the panel applies them in order, asks for what it
// missed when a number is skipped, and after a dropped socket reconnects with backoff and
// catches up from the last number it applied.
(function () {
  "use strict";
  const panel = document.getElementById("live-panel");
  if (!panel) return;

  const $ = (name) => panel.querySelector('[data-live="' + name + '"]');
  const captions = $("captions");
  const maxMinutes = Number(panel.dataset.maxMinutes || 0);
  const REFUSED = {
    4400: "The live view stopped; reload the page.",
    4401: "Sign in again to watch this interview.",
    4403: "You cannot watch this interview from here.",
    4404: "This interview is no longer available.",
  };
  const STATUS = {
    pending: "Not started",
    connecting: "Connecting",
    live: "Live",
    completed: "Completed",
    abandoned: "Abandoned",
    failed: "Failed",
  };
  const SPEAKER = { interviewer: "Interviewer", candidate: "Candidate", system: "System" };
  const GAP_WAIT_MS = 1500;
  const EVENTS = {
    "sideband.attached": "The server joined the call",
    "sideband.dropped": "The server's link to the call dropped",
    assessment: "The interviewer noted an assessment",
    "tool.called": "The interviewer used a tool",
    "provider.error": "The AI service reported an error",
    "page.opened": "The candidate opened the interview page",
  };

  const state = {
    applied: 0, // the highest update number applied, every one before it applied too
    pending: new Map(), // updates received ahead of a missing number, by number
    rows: new Map(), // entry id -> <li>
    session: null,
    socket: null,
    attempts: 0,
    gapTimer: null,
    asked: null, // the "since" of a resync asked for and not yet answered
    stopped: false,
    reconnects: 0,
  };
  window.liveView = state; // for the console's tests: applied number, socket, reconnects

  function say(text) {
    $("socket").textContent = text;
  }

  function two(n) {
    return String(n).padStart(2, "0");
  }

  function elapsed() {
    const s = state.session;
    if (!s || !s.started_at) return "-";
    const end = s.ended_at ? new Date(s.ended_at) : new Date();
    const seconds = Math.max(0, Math.floor((end - new Date(s.started_at)) / 1000));
    return two(Math.floor(seconds / 60)) + ":" + two(seconds % 60);
  }

  function showSession() {
    const s = state.session;
    if (!s) return;
    $("status").textContent = STATUS[s.status] || s.status;
    $("connection").textContent = (!s.ended_at && s.connection_state) || "-";
    $("elapsed").textContent = elapsed();
    const over = maxMinutes && s.started_at && !s.ended_at &&
      (new Date() - new Date(s.started_at)) / 60000 > maxMinutes;
    $("elapsed").classList.toggle("live-over", Boolean(over));
    if (s.ended_at) {
      $("speaking").textContent = "-";
      say("The interview has ended. Reload the page to see the full record below.");
    }
  }

  const SUMMARY_STATUS = {
    pending: "AI summary: queued.",
    running: "AI summary: being written…",
    failed: "AI summary: could not be written (see the session's AI summary section).",
  };

  function showSummary(summary) {
    const box = $("summary");
    if (!summary) return;
    box.hidden = false;
    if (summary.status !== "ready") {
      box.textContent = SUMMARY_STATUS[summary.status] || "AI summary: " + summary.status;
      return;
    }
    const parts = ["AI summary (advice; the decision is yours)"];
    if (summary.overall_rating) parts.push("rating " + summary.overall_rating + " / 5");
    if (summary.recommendation) parts.push(summary.recommendation);
    const head = document.createElement("strong");
    head.textContent = parts.join(" · ");
    const text = document.createElement("p");
    text.textContent = summary.summary;
    box.replaceChildren(head, text);
  }

  function place(entry) {
    let row = state.rows.get(entry.id);
    if (!row) {
      row = document.createElement("li");
      row.dataset.entry = entry.id;
      const who = document.createElement("strong");
      const text = document.createElement("span");
      row.append(who, document.createTextNode(": "), text);
      state.rows.set(entry.id, row);
    } else {
      row.remove();
    }
    row.dataset.speaker = entry.speaker;
    row.className = "live-caption live-" + entry.speaker;
    row.firstChild.textContent = SPEAKER[entry.speaker] || entry.speaker;
    row.lastChild.textContent = entry.text;
    const before = entry.after ? state.rows.get(entry.after) : null;
    if (entry.after && !before) {
      captions.append(row); // its neighbour is unknown here: ask for the whole picture
      resync(0);
    } else if (before) {
      before.after(row);
    } else {
      captions.prepend(row);
    }
  }

  function applySnapshot(snapshot) {
    state.asked = null;
    if (snapshot.since === 0) {
      state.rows.clear();
      captions.replaceChildren();
    }
    snapshot.entries.forEach(place);
    state.session = snapshot.session;
    showSummary(snapshot.summary);
    state.applied = Math.max(state.applied, snapshot.seq);
    for (const seq of [...state.pending.keys()]) {
      if (seq <= state.applied) state.pending.delete(seq);
    }
    if (state.rows.size !== snapshot.count) {
      if (snapshot.since !== 0) resync(0); // out of step: start over, once
      else console.warn("live view: the snapshot's entries do not match its count");
    }
    showSession();
    drain();
  }

  function apply(update) {
    if (update.kind === "entry") place(update.entry);
    else if (update.kind === "summary") showSummary(update.summary);
    else if (update.kind === "event") {
      $("event").textContent = EVENTS[update.event.kind] || update.event.kind;
    }
    else if (update.kind === "status") {
      state.session = Object.assign({}, state.session, update.session);
      showSession();
    }
    state.applied = update.seq;
  }

  function drain() {
    while (state.pending.has(state.applied + 1)) {
      const next = state.pending.get(state.applied + 1);
      state.pending.delete(state.applied + 1);
      apply(next);
    }
    if (!state.pending.size) {
      clearTimeout(state.gapTimer);
      state.gapTimer = null;
    } else if (!state.gapTimer) {
      // A number is missing: wait a moment for it (pushes from two processes can cross),
      // then ask for everything after the last one applied. Not put off by later pushes.
      state.gapTimer = setTimeout(() => {
        state.gapTimer = null;
        if (state.pending.size) resync(state.applied);
      }, GAP_WAIT_MS);
    }
  }

  function resync(since) {
    if (state.asked !== null && state.asked <= since) return; // already asked
    if (state.socket && state.socket.readyState === WebSocket.OPEN) {
      state.asked = since;
      state.socket.send(JSON.stringify({ type: "resync", since: since }));
    }
  }

  function received(message) {
    if (message.kind === "snapshot") return applySnapshot(message);
    if (message.kind === "resync") return resync(state.applied); // a push was lost
    if (message.kind === "speaking") {
      const ended = state.session && state.session.ended_at;
      $("speaking").textContent = message.who && !ended ? SPEAKER[message.who] || message.who : "-";
      return;
    }
    if (typeof message.seq !== "number" || message.seq <= state.applied) return;
    state.pending.set(message.seq, message);
    drain();
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const socket = new WebSocket(
      scheme + location.host + panel.dataset.socket + "?since=" + state.applied
    );
    state.socket = socket;
    socket.onopen = () => {
      state.attempts = 0;
      state.asked = null;
      if (!(state.session && state.session.ended_at)) say("Following the interview live.");
    };
    socket.onmessage = (event) => received(JSON.parse(event.data));
    socket.onclose = (event) => {
      if (state.socket !== socket) return;
      if (REFUSED[event.code]) {
        state.stopped = true;
        say(REFUSED[event.code]);
        return;
      }
      const delay = Math.min(30000, 500 * 2 ** state.attempts) * (0.75 + Math.random() / 2);
      state.attempts += 1;
      state.reconnects += 1;
      say("Live view interrupted; reconnecting…");
      setTimeout(connect, delay);
    };
  }

  state.drop = () => state.socket && state.socket.close(4000, "dropped");
  setInterval(showSession, 1000);
  connect();
})();
