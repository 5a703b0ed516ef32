// What the candidate sees around the conversation: the status line, who is speaking, the
// buttons, the time left and the error box. The controls report what the candidate asked
// for; what that means is decided by whoever binds them.

export const SESSION_EXPIRED = "Your session has expired. Reload the page to continue.";

export class InterviewView {
  constructor(doc, { maxDurationSeconds }) {
    const $ = (id) => doc.getElementById(id);
    this.$ = $;
    this.page = $("interview");
    this.status = $("status");
    this.maxDurationSeconds = maxDurationSeconds;
    this.deadline = null;
  }

  get state() {
    return this.page.dataset.state;
  }

  get statusText() {
    return this.status.textContent;
  }

  setState(state, message) {
    const $ = this.$;
    this.page.dataset.state = state;
    // In the error state the error box says what happened and what to do: the status line
    // must not go on saying what was true before ("Reconnecting...").
    if (state === "error") this.status.textContent = "";
    else if (message) this.status.textContent = message;
    const live = state === "live";
    $("mute").disabled = !live;
    $("end").disabled = !(live || state === "connecting" || state === "reconnecting");
    $("typed").disabled = !live;
    $("send-typed").disabled = !live;
  }

  showStatus(message) {
    this.status.textContent = message;
  }

  showConnected() {
    // Only when it changes: the status line is a live region, read out on every change.
    const muted = this.$("mute").getAttribute("aria-pressed") === "true";
    const text = muted ? "Connected. Your microphone is muted." : "Connected.";
    if (this.state === "live" && this.status.textContent !== text) this.status.textContent = text;
  }

  showError(message, { retry = false } = {}) {
    this.$("error-text").textContent = message;
    this.$("error").hidden = false;
    this.$("retry").hidden = !retry;
  }

  clearError() {
    this.$("error").hidden = true;
  }

  allowEnding() {
    this.$("end").disabled = false;
  }

  showSpeaking(who, active) {
    const $ = this.$;
    $(`speaker-${who}`).dataset.active = String(active);
    const anyone = ["interviewer", "candidate"].find((w) => $(`speaker-${w}`).dataset.active === "true");
    $("speaking").textContent = anyone === "interviewer" ? "The interviewer is speaking." : anyone ? "You are speaking." : "";
  }

  showNobodySpeaking() {
    this.showSpeaking("interviewer", false);
    this.showSpeaking("candidate", false);
  }

  // --- time left: the server says how much; the page counts it down ----------------------

  setTimeLeft(seconds) {
    this.deadline = Date.now() + seconds * 1000;
  }

  startClock() {
    this.showTimeLeft();
    setInterval(() => this.showTimeLeft(), 1000);
  }

  showTimeLeft() {
    const seconds = this.deadline
      ? Math.max(0, Math.round((this.deadline - Date.now()) / 1000))
      : this.maxDurationSeconds;
    const text = `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
    const timer = this.$("timer");
    timer.textContent = text;
    timer.parentElement.setAttribute("aria-label", `Time left: ${text}`);
  }

  // --- controls ---------------------------------------------------------------------------

  // onTypedAnswer(text) answers whether the text was sent; only then is the box cleared.
  bindControls({ onMute, onEnd, onTypedAnswer, onRetry }) {
    const $ = this.$;
    $("mute").addEventListener("click", () => {
      const muted = $("mute").getAttribute("aria-pressed") !== "true";
      onMute(muted);
      $("mute").setAttribute("aria-pressed", String(muted));
      $("mute").textContent = muted ? "Unmute microphone" : "Mute microphone";
      this.status.textContent = muted ? "Your microphone is muted." : "Your microphone is on.";
    });

    $("end").addEventListener("click", () => $("confirm-end").showModal());
    $("confirm-end").addEventListener("close", () => {
      if ($("confirm-end").returnValue === "end") onEnd();
    });

    $("type-answer").addEventListener("submit", (event) => {
      event.preventDefault();
      const text = $("typed").value.trim();
      if (text && onTypedAnswer(text)) $("typed").value = "";
    });

    $("retry").addEventListener("click", () => onRetry());
  }
}
