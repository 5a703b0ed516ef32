// Keeps the page connected to the interviewer: one Connection at a time, a new offer after a
// failure or a loss with backoff (never sooner than the server's Retry-After), and giving up
// with what to do when trying again cannot help or has not.

import { ApiError } from "./api.js";
import { Connection } from "./connection.js";
import { SESSION_EXPIRED } from "./view.js";

const RECONNECT_DELAYS = [1000, 2000, 4000, 8000, 15000];
// Longer than this, a rate-limited provider is not waited out on the page.
const MAX_RETRY_WAIT_SECONDS = 60;
const NOT_CONFIGURED = "The interview can't start right now; we've told the company.";

export class ReconnectingConnection {
  // hooks: onConnecting() before each offer, onOpen() when the data channel opens,
  // onProviderEvent(event), onLost() as soon as a connection is lost, onEnded() when the
  // server says the interview is over.
  constructor({ api, audioElement, view, hooks }) {
    this.api = api;
    this.audioElement = audioElement;
    this.view = view;
    this.hooks = hooks;
    this.microphone = null;
    this.connection = null;
    this.attempt = 0;
    this.timer = null; // at most one reconnection is ever pending
    this.stopped = false;
  }

  get state() {
    return this.connection ? this.connection.state : "new";
  }

  send(event) {
    return this.connection ? this.connection.send(event) : false;
  }

  start(microphone) {
    this.microphone = microphone;
    return this.connect();
  }

  // The candidate asked to try again: from the first delay, whatever was pending.
  retry() {
    clearTimeout(this.timer);
    this.timer = null;
    this.attempt = 0;
    this.connect();
  }

  // The interview is over: no loss is reported and no reconnection scheduled from now on.
  stop() {
    this.stopped = true;
    clearTimeout(this.timer); // a reconnection already scheduled must not run after the end
    this.timer = null;
    this.connection?.close();
  }

  async connect() {
    this.view.clearError();
    const again = this.attempt > 0;
    this.view.setState(again ? "reconnecting" : "connecting", again ? "Reconnecting..." : "Connecting to your interviewer...");
    const connection = new Connection({ api: this.api, microphone: this.microphone, audioElement: this.audioElement });
    this.connection = connection;
    this.hooks.onConnecting();
    connection.addEventListener("provider-event", (e) => this.hooks.onProviderEvent(e.detail));
    connection.addEventListener("open", () => {
      this.attempt = 0;
      this.hooks.onOpen();
    });
    connection.addEventListener("lost", (e) => this.onLost(e.target));
    try {
      await connection.open();
    } catch (error) {
      await this.onConnectError(error);
    }
  }

  async onConnectError(error) {
    if (error instanceof ApiError) {
      if (error.status === 409) return this.hooks.onEnded();
      if (error.status === 401) {
        this.view.setState("error");
        return this.view.showError(SESSION_EXPIRED);
      }
      // The service's setup is at fault (the company has been told): trying again cannot help.
      if (error.code === "interviewer_not_configured") return this.giveUp(NOT_CONFIGURED);
      // Maintenance began before this interview connected: it waits, with the operator's word.
      if (error.code === "maintenance") return this.giveUp(error.message, { retry: true });
      if (error.code === "upstream_rate_limited") {
        return this.scheduleReconnect("The interviewer service is busy right now.", error.retryAfter);
      }
      if (error.status === 502 || error.status === 503 || error.status === 504) {
        return this.scheduleReconnect("The interviewer service is not available right now.", error.retryAfter);
      }
    }
    this.scheduleReconnect("Could not connect.");
  }

  async onLost(lost) {
    // A failing connection can report itself twice (ICE failed, channel closed): once is enough.
    if (this.stopped || lost !== this.connection) return;
    this.hooks.onLost();
    // The interviewer may have ended the interview: that closes the connection too.
    try {
      const status = await this.api.status();
      if (status.ended) return this.hooks.onEnded();
    } catch (_) {
      /* offline: try to reconnect */
    }
    if (lost === this.connection) this.scheduleReconnect("The connection dropped.");
  }

  giveUp(message, { retry = false } = {}) {
    this.connection?.close();
    this.connection = null;
    this.view.setState("error");
    this.view.showError(message, { retry });
    this.view.allowEnding(); // ending stays possible
  }

  scheduleReconnect(reason, retryAfterSeconds = null) {
    if (this.stopped || this.timer) return;
    this.connection?.close();
    this.connection = null;
    // A busy provider that asks for a long wait, or keeps asking, is not the candidate's
    // connection: say so, and do not keep them watching a countdown of minutes.
    const busy = retryAfterSeconds !== null && retryAfterSeconds !== undefined;
    if (busy && retryAfterSeconds > MAX_RETRY_WAIT_SECONDS) {
      return this.giveUp(`${reason} Please try again in a few minutes.`, { retry: true });
    }
    if (this.attempt >= RECONNECT_DELAYS.length) {
      const advice = busy ? "Please try again in a few minutes." : "Check your internet connection and try again.";
      return this.giveUp(`${reason} ${advice}`, { retry: true });
    }
    // Never sooner than the server asked (a provider's rate limit says how long to wait).
    const delay = Math.max(RECONNECT_DELAYS[this.attempt++], (retryAfterSeconds || 0) * 1000);
    this.view.setState("reconnecting", `${reason} Reconnecting in ${Math.round(delay / 1000)} s...`);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.connect();
    }, delay);
  }
}
