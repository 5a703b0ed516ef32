// The interview page starts here: it wires the page's parts together, asks for the
// microphone, and keeps the server informed (start, heartbeat, end) until the interview ends.

import { ApiError, SessionApi } from "./api.js";
import { Captions } from "./captions.js";
import { ReconnectingConnection } from "./reconnecting.js";
import { Recording } from "./recording.js";
import { ClientTranscript } from "./transcript.js";
import { TurnTaking } from "./turn-taking.js";
import { InterviewView, SESSION_EXPIRED } from "./view.js";

const HEARTBEAT_MS = 10000;
const TRANSCRIPT_FLUSH_MS = 5000;

const $ = (id) => document.getElementById(id);
const config = JSON.parse($("interview-config").textContent);
const api = new SessionApi(config);
const view = new InterviewView(document, config);
const captions = new Captions({ list: $("captions"), draftLine: $("caption-live") });
const transcript = new ClientTranscript(api);
const recording = new Recording({ api, element: $("recording"), preview: $("self-view"), options: config.video });
const turns = new TurnTaking({ view, send: (event) => link.send(event) });
const link = new ReconnectingConnection({
  api,
  view,
  audioElement: $("interviewer-audio"),
  hooks: {
    onConnecting: () => {
      turns.reset();
      transcript.newCall();
    },
    onOpen: () => {
      // A reconnected call gets a new video segment; the old one finishes its upload.
      if (callOpened) recording.nextSegment();
      callOpened = true;
      turns.begin();
      api.heartbeat("connected").then(applyStatus).catch(() => {});
    },
    // Turn-taking first: the first sign of the interviewer ends "will speak first".
    onProviderEvent: (event) => {
      turns.handle(event);
      captions.handle(event);
      transcript.handle(event);
    },
    onLost: () => view.showNobodySpeaking(),
    onEnded: () => finish(),
  },
});
let microphone = null;
let finished = false;
let callOpened = false;

view.bindControls({
  onMute: (muted) => microphone.getAudioTracks().forEach((track) => (track.enabled = !muted)),
  onEnd: async () => {
    try {
      await api.end();
    } finally {
      finish();
    }
  },
  onTypedAnswer: (text) => {
    const itemId = turns.sendTypedAnswer(text);
    if (!itemId) return false;
    captions.show("candidate", itemId, text);
    transcript.add("candidate", itemId, text);
    return true;
  },
  onRetry: () => link.retry(),
});

function applyStatus(status) {
  if (status.ended) return finish();
  if (status.remaining_seconds !== null && status.remaining_seconds !== undefined) {
    view.setTimeLeft(status.remaining_seconds);
  }
}

async function heartbeat() {
  if (finished) return;
  try {
    applyStatus(await api.heartbeat(link.state));
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) view.showError(SESSION_EXPIRED);
  }
}

async function finish() {
  if (finished) return;
  finished = true;
  view.setState("ended", "The interview has ended.");
  link.stop();
  const video = recording.stop(); // stops the recorder now; the last part uploads meanwhile
  microphone?.getTracks().forEach((track) => track.stop());
  await Promise.all([transcript.flush(), video]);
  api.stop();
  window.location.assign(config.doneUrl);
}

async function main() {
  view.startClock();
  try {
    applyStatus(await api.start({ userAgent: navigator.userAgent, language: navigator.language }));
  } catch (error) {
    if (error instanceof ApiError && error.status === 409) return finish();
    view.setState("error");
    // Maintenance: the interview has not started and waits; the operator's message says why.
    if (error instanceof ApiError && error.code === "maintenance") return view.showError(error.message);
    return view.showError("This interview could not be loaded. Reload the page, or open the link in your invitation again.");
  }
  if (finished) return;
  try {
    microphone = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: true, noiseSuppression: true } });
  } catch (error) {
    view.setState("error");
    const denied = error.name === "NotAllowedError" || error.name === "SecurityError";
    return view.showError(
      denied
        ? "Microphone access is blocked. Allow it in your browser's address bar, then reload the page."
        : "No working microphone was found. Connect one, then reload the page.",
    );
  }
  setInterval(heartbeat, HEARTBEAT_MS);
  setInterval(() => transcript.flush(), TRANSCRIPT_FLUSH_MS);
  window.addEventListener("pagehide", () => transcript.flush());
  recording.start(microphone); // not awaited: the interview never waits on video
  await link.start(microphone);
}

main();
