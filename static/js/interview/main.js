// The interview page: connects, shows captions and who is speaking, keeps time, reconnects
// with backoff, offers mute, typed answers and ending, and keeps the server informed.

import { ApiError, SessionApi } from "./api.js";
import { Connection } from "./connection.js";

const $ = (id) => document.getElementById(id);
const config = JSON.parse($("interview-config").textContent);
const api = new SessionApi(config);

const RECONNECT_DELAYS = [1000, 2000, 4000, 8000, 15000];
const NOT_CONFIGURED = "The interview can't start right now; we've told the company.";
const WAITING_FOR_INTERVIEWER = "Connected. The interviewer will speak first.";
// Any of these means the interviewer has begun: the first one may be missed (sound can start
// before the data channel opens, and the events sent before it are not delivered).
const INTERVIEWER_SIGNS = new Set([
  "response.output_item.added",
  "response.output_audio_transcript.delta",
  "response.output_audio_transcript.done",
  "output_audio_buffer.started",
  "output_audio_buffer.stopped",
]);
const HEARTBEAT_MS = 10000;
const TRANSCRIPT_FLUSH_MS = 5000;

let connection = null;
let microphone = null;
let reconnectAttempt = 0;
let reconnectTimer = null; // at most one reconnection is ever pending
let finished = false;
// The provider refuses a response.create while a response is in progress: a typed answer sent
// while the interviewer speaks waits for that response to finish. A response begun after the
// answer reached the conversation (the server's, or turn detection's) answers it too.
let responding = false;
let candidateSpeaking = false;
let replyWanted = false;
let replyEventId = null;
let typedItemId = null;
let typedItemAdded = false;
let responseSeesTyped = false; // the current response began after the typed answer was added
let deadline = null;
let pendingTranscript = [];
const seenItems = new Set();
const interviewerDrafts = new Map();
const speechTimes = new Map(); // item id -> where the candidate's speech is in the call's audio

// --- what the candidate sees --------------------------------------------------------------

function setState(state, message) {
  $("interview").dataset.state = state;
  // In the error state the error box says what happened and what to do: the status line
  // must not go on saying what was true before ("Reconnecting...").
  if (state === "error") $("status").textContent = "";
  else if (message) $("status").textContent = message;
  const live = state === "live";
  $("mute").disabled = !live;
  $("end").disabled = !(live || state === "connecting" || state === "reconnecting");
  $("typed").disabled = !live;
  $("send-typed").disabled = !live;
}

function showConnected() {
  // Only when it changes: the status line is a live region, read out on every change.
  const muted = $("mute").getAttribute("aria-pressed") === "true";
  const text = muted ? "Connected. Your microphone is muted." : "Connected.";
  if ($("interview").dataset.state === "live" && $("status").textContent !== text) {
    $("status").textContent = text;
  }
}

function showError(message, { retry = false } = {}) {
  $("error-text").textContent = message;
  $("error").hidden = false;
  $("retry").hidden = !retry;
}

function clearError() {
  $("error").hidden = true;
}

// A caption's place is its item's place in the conversation, not when its text arrived: the
// candidate's words are transcribed after they stop speaking, often once the interviewer has
// already moved on. Each item gets a hidden slot when it appears; its text fills it. When the
// item joins the conversation the provider names the item before it (previous_item_id), and
// the slot moves there: speech that began before the interviewer's greeting is committed, and
// joins the conversation, after it.
const captionNodes = new Map(); // item id -> its caption (hidden until its text arrives)
const conversation = []; // item ids in conversation order, as the provider placed them

function reserveCaption(itemId) {
  if (!itemId || captionNodes.has(itemId)) return;
  const slot = document.createElement("li");
  slot.hidden = true;
  captionNodes.set(itemId, slot);
  $("captions").append(slot);
}

function placeItem(itemId, previous) {
  if (!itemId || previous === undefined || conversation.includes(itemId)) return;
  const after = previous === null ? -1 : conversation.indexOf(previous);
  const at = previous !== null && after < 0 ? conversation.length : after + 1;
  conversation.splice(at, 0, itemId);
  const node = captionNodes.get(itemId);
  if (!node) return;
  for (let i = at - 1; i >= 0; i--) {
    const before = captionNodes.get(conversation[i]);
    if (before) return before.after(node);
  }
  // The first item with a caption: before every caption still waiting for its place.
  const waiting = [...captionNodes].find(([id, other]) => other !== node && !conversation.includes(id));
  if (waiting && waiting[1].compareDocumentPosition(node) & Node.DOCUMENT_POSITION_FOLLOWING) {
    waiting[1].before(node);
  }
}

function addCaption(speaker, text, itemId) {
  let item = captionNodes.get(itemId);
  if (!item) {
    item = document.createElement("li");
    if (itemId) captionNodes.set(itemId, item);
  }
  const who = document.createElement("span");
  who.className = "who";
  who.textContent = speaker === "interviewer" ? "Interviewer:" : "You:";
  item.replaceChildren(who, document.createTextNode(text));
  item.hidden = false;
  if (!item.isConnected) $("captions").append(item);
  // Keep the newest caption in view, also when a late one fills an earlier place.
  const shown = $("captions").querySelectorAll("li:not([hidden])");
  shown[shown.length - 1].scrollIntoView({ block: "nearest" });
}

function setSpeaking(who, active) {
  $(`speaker-${who}`).dataset.active = String(active);
  const anyone = ["interviewer", "candidate"].find((w) => $(`speaker-${w}`).dataset.active === "true");
  $("speaking").textContent = anyone === "interviewer" ? "The interviewer is speaking." : anyone ? "You are speaking." : "";
}

function startTimer(remainingSeconds) {
  deadline = Date.now() + remainingSeconds * 1000;
}

function tickTimer() {
  const seconds = deadline ? Math.max(0, Math.round((deadline - Date.now()) / 1000)) : config.maxDurationSeconds;
  const text = `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
  $("timer").textContent = text;
  $("timer").parentElement.setAttribute("aria-label", `Time left: ${text}`);
}

// --- transcript (the browser's copy is a fallback for the server's) -----------------------

function remember(speaker, itemId, text) {
  if (!itemId || !text || seenItems.has(itemId)) return;
  seenItems.add(itemId);
  addCaption(speaker, text, itemId);
  const { started_ms = null, ended_ms = null } = speechTimes.get(itemId) || {};
  pendingTranscript.push({ item_id: itemId, speaker, text, started_ms, ended_ms });
}

async function flushTranscript() {
  if (!pendingTranscript.length) return;
  const batch = pendingTranscript.splice(0, 50);
  try {
    await api.transcript(batch);
  } catch (error) {
    if (!(error instanceof ApiError && error.status < 500)) pendingTranscript.unshift(...batch);
  }
}

// --- provider events from the data channel ------------------------------------------------

function onProviderEvent(event) {
  if (INTERVIEWER_SIGNS.has(event.type) && $("status").textContent === WAITING_FOR_INTERVIEWER) {
    showConnected();
  }
  switch (event.type) {
    case "response.output_audio_transcript.delta": {
      const draft = (interviewerDrafts.get(event.item_id) || "") + event.delta;
      interviewerDrafts.set(event.item_id, draft);
      $("caption-live").textContent = draft;
      break;
    }
    case "response.output_audio_transcript.done":
      interviewerDrafts.delete(event.item_id);
      $("caption-live").textContent = "";
      remember("interviewer", event.item_id, event.transcript);
      break;
    case "conversation.item.input_audio_transcription.completed":
      remember("candidate", event.item_id, event.transcript);
      break;
    case "output_audio_buffer.started":
      setSpeaking("interviewer", true);
      showConnected(); // what the status line said before (a typed answer sent...) is over
      break;
    case "output_audio_buffer.stopped":
    case "output_audio_buffer.cleared": // cut short (the candidate spoke over it)
      setSpeaking("interviewer", false);
      break;
    case "conversation.item.added":
    case "conversation.item.done":
      if (event.item?.type === "message") reserveCaption(event.item.id);
      placeItem(event.item?.id, event.previous_item_id);
      if (event.type === "conversation.item.added" && event.item?.id && event.item.id === typedItemId) {
        typedItemAdded = true;
      }
      break;
    case "input_audio_buffer.committed":
      placeItem(event.item_id, event.previous_item_id);
      break;
    case "response.output_item.added":
      if (event.item?.type === "message") reserveCaption(event.item.id);
      break;
    case "response.created":
      responding = true;
      responseSeesTyped = typedItemAdded;
      if (responseSeesTyped) replyWanted = false; // this response answers the typed answer
      break;
    case "response.done":
      responding = false;
      // After a tool call the server asks the interviewer to go on, and that answers too.
      if (replyWanted && !endsWithToolCall(event.response)) requestReply();
      break;
    case "input_audio_buffer.speech_started":
      if (Number.isInteger(event.audio_start_ms)) speechTimes.set(event.item_id, { started_ms: event.audio_start_ms });
      reserveCaption(event.item_id);
      candidateSpeaking = true;
      setSpeaking("candidate", true);
      break;
    case "input_audio_buffer.speech_stopped":
      if (Number.isInteger(event.audio_end_ms)) {
        speechTimes.set(event.item_id, { ...speechTimes.get(event.item_id), ended_ms: event.audio_end_ms });
      }
      candidateSpeaking = false; // turn detection responds, and that answers too
      setSpeaking("candidate", false);
      break;
    case "error":
      if (
        event.error?.code === "conversation_already_has_active_response" &&
        event.error.event_id === replyEventId
      ) {
        // Our request met a response that had just begun: ask after it, unless that one
        // already answers the typed answer.
        if (!responseSeesTyped) replyWanted = true;
        break;
      }
      console.warn("interviewer service error", event.error);
      break;
  }
}

// --- connecting and reconnecting ----------------------------------------------------------

async function connect() {
  clearError();
  setState(reconnectAttempt ? "reconnecting" : "connecting", reconnectAttempt ? "Reconnecting..." : "Connecting to your interviewer...");
  connection = new Connection({ api, microphone, audioElement: $("interviewer-audio") });
  responding = candidateSpeaking = replyWanted = typedItemAdded = responseSeesTyped = false;
  typedItemId = null;
  connection.addEventListener("provider-event", (e) => onProviderEvent(e.detail));
  connection.addEventListener("open", () => {
    reconnectAttempt = 0;
    setState("live", WAITING_FOR_INTERVIEWER);
    api.heartbeat("connected").then(applyStatus).catch(() => {});
  });
  connection.addEventListener("lost", onLost);
  try {
    await connection.open();
  } catch (error) {
    await onConnectError(error);
  }
}

async function onConnectError(error) {
  if (error instanceof ApiError) {
    if (error.status === 409) return finish();
    if (error.status === 401) {
      setState("error");
      return showError("Your session has expired. Reload the page to continue.");
    }
    // The service's setup is at fault (the company has been told): trying again cannot help.
    if (error.code === "interviewer_not_configured") return giveUp(NOT_CONFIGURED);
    if (error.code === "upstream_rate_limited") {
      return scheduleReconnect("The interviewer service is busy right now.", error.retryAfter);
    }
    if (error.status === 502 || error.status === 503 || error.status === 504) {
      return scheduleReconnect("The interviewer service is not available right now.", error.retryAfter);
    }
  }
  scheduleReconnect("Could not connect.");
}

async function onLost(event) {
  // A failing connection can report itself twice (ICE failed, channel closed): once is enough.
  const lost = event.target;
  if (finished || lost !== connection) return;
  setSpeaking("interviewer", false);
  setSpeaking("candidate", false);
  // The interviewer may have ended the interview: that closes the connection too.
  try {
    const status = await api.status();
    if (status.ended) return finish();
  } catch (_) {
    /* offline: try to reconnect */
  }
  if (lost === connection) scheduleReconnect("The connection dropped.");
}

function giveUp(message, { retry = false } = {}) {
  connection?.close();
  connection = null;
  setState("error");
  showError(message, { retry });
  $("end").disabled = false; // ending stays possible
}

function scheduleReconnect(reason, retryAfterSeconds = null) {
  if (finished || reconnectTimer) return;
  connection?.close();
  connection = null;
  if (reconnectAttempt >= RECONNECT_DELAYS.length) {
    return giveUp(`${reason} Check your internet connection and try again.`, { retry: true });
  }
  // Never sooner than the server asked (a provider's rate limit says how long to wait).
  const delay = Math.max(RECONNECT_DELAYS[reconnectAttempt++], (retryAfterSeconds || 0) * 1000);
  setState("reconnecting", `${reason} Reconnecting in ${Math.round(delay / 1000)} s...`);
  reconnectTimer = setTimeout(() => {
    reconnectTimer = null;
    connect();
  }, delay);
}

// --- status from the server ---------------------------------------------------------------

function applyStatus(status) {
  if (status.ended) return finish();
  if (status.remaining_seconds !== null && status.remaining_seconds !== undefined) {
    startTimer(status.remaining_seconds);
  }
}

async function heartbeat() {
  if (finished) return;
  try {
    applyStatus(await api.heartbeat(connection ? connection.state : "new"));
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      showError("Your session has expired. Reload the page to continue.");
    }
  }
}

async function finish() {
  if (finished) return;
  finished = true;
  setState("ended", "The interview has ended.");
  connection?.close();
  microphone?.getTracks().forEach((track) => track.stop());
  await flushTranscript();
  api.stop();
  window.location.assign(config.doneUrl);
}

// --- controls -----------------------------------------------------------------------------

$("mute").addEventListener("click", () => {
  const muted = $("mute").getAttribute("aria-pressed") !== "true";
  microphone.getAudioTracks().forEach((track) => (track.enabled = !muted));
  $("mute").setAttribute("aria-pressed", String(muted));
  $("mute").textContent = muted ? "Unmute microphone" : "Mute microphone";
  $("status").textContent = muted ? "Your microphone is muted." : "Your microphone is on.";
});

$("end").addEventListener("click", () => $("confirm-end").showModal());
$("confirm-end").addEventListener("close", async () => {
  if ($("confirm-end").returnValue !== "end") return;
  try {
    await api.end();
  } finally {
    finish();
  }
});

$("type-answer").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = $("typed").value.trim();
  if (!text) return;
  const itemId = "item_typed_" + crypto.randomUUID().replaceAll("-", "").slice(0, 20);
  const sent = connection?.send({
    type: "conversation.item.create",
    item: { id: itemId, type: "message", role: "user", content: [{ type: "input_text", text }] },
  });
  if (sent) {
    typedItemId = itemId;
    typedItemAdded = false;
    requestReply();
    remember("candidate", itemId, text);
    $("typed").value = "";
    $("status").textContent = replyWanted
      ? "Your answer was sent. The interviewer will reply when it has finished speaking."
      : "Your answer was sent.";
  } else {
    $("status").textContent = "Not connected; your answer was not sent.";
  }
});

function endsWithToolCall(response) {
  const output = response?.output || [];
  return output.length > 0 && output[output.length - 1].type === "function_call";
}

function requestReply() {
  // Ask the interviewer to answer what was typed: now, or once its current response is done
  // (or the candidate has stopped talking, when turn detection answers anyway).
  if (responding || candidateSpeaking) {
    replyWanted = true;
    return;
  }
  replyWanted = false;
  replyEventId = "event_reply_" + crypto.randomUUID().replaceAll("-", "").slice(0, 20);
  connection?.send({ type: "response.create", event_id: replyEventId });
}

$("retry").addEventListener("click", () => {
  clearTimeout(reconnectTimer);
  reconnectTimer = null;
  reconnectAttempt = 0;
  connect();
});

// --- start --------------------------------------------------------------------------------

async function main() {
  tickTimer();
  setInterval(tickTimer, 1000);
  try {
    applyStatus(await api.start({ userAgent: navigator.userAgent, language: navigator.language }));
  } catch (error) {
    if (error instanceof ApiError && error.status === 409) return finish();
    setState("error");
    return showError("This interview could not be loaded. Reload the page, or open the link in your invitation again.");
  }
  if (finished) return;
  try {
    microphone = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: true, noiseSuppression: true } });
  } catch (error) {
    setState("error");
    const denied = error.name === "NotAllowedError" || error.name === "SecurityError";
    return showError(
      denied
        ? "Microphone access is blocked. Allow it in your browser's address bar, then reload the page."
        : "No working microphone was found. Connect one, then reload the page.",
    );
  }
  setInterval(heartbeat, HEARTBEAT_MS);
  setInterval(flushTranscript, TRANSCRIPT_FLUSH_MS);
  window.addEventListener("pagehide", () => flushTranscript());
  await connect();
}

main();
