// The session API, with the short-lived session token (refreshed while the page is open).

export class ApiError extends Error {
  constructor(status, code, message, retryAfter = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter; // seconds the server asked us to wait, if it said
  }
}

function retryAfterSeconds(response) {
  const seconds = Number.parseInt(response.headers.get("Retry-After") || "", 10);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds : null;
}

export class SessionApi {
  constructor({ api, token, tokenTtl }) {
    this.base = api;
    this.token = token;
    this.refreshEvery = Math.max(30, (tokenTtl || 600) / 2) * 1000;
    this.refreshTimer = setInterval(() => this.refresh().catch(() => {}), this.refreshEvery);
  }

  async request(path, { method = "POST", body, contentType = "application/json" } = {}) {
    const headers = { Authorization: `Bearer ${this.token}` };
    if (body !== undefined) headers["Content-Type"] = contentType;
    const response = await fetch(this.base + path, {
      method,
      headers,
      body: body === undefined ? undefined : contentType === "application/json" ? JSON.stringify(body) : body,
      credentials: "same-origin",
    });
    if (!response.ok) {
      let code = "http_" + response.status;
      let message = response.statusText;
      try {
        const payload = await response.json();
        code = payload.error?.code || code;
        message = payload.error?.message || message;
      } catch (_) {
        /* not JSON */
      }
      throw new ApiError(response.status, code, message, retryAfterSeconds(response));
    }
    const type = response.headers.get("Content-Type") || "";
    return type.includes("application/json") ? response.json() : response.text();
  }

  async refresh() {
    const { token } = await this.request("token/");
    this.token = token;
  }

  start(clientInfo) { return this.request("start/", { body: { client_info: clientInfo } }); }
  heartbeat(connectionState) { return this.request("heartbeat/", { body: { connection_state: connectionState } }); }
  status() { return this.request("status/", { method: "GET" }); }
  end() { return this.request("end/", { body: {} }); }
  sdp(offer) { return this.request("sdp/", { body: offer, contentType: "application/sdp" }); }
  transcript(entries) { return this.request("transcript/", { body: { entries } }); }
  video() { return this.request("video/", { body: {} }); }
  videoToken(segmentId) { return this.request(`video/${segmentId}/token/`, { body: {} }); }
  event(kind, reason, segmentId = null) { return this.request("events/", { body: { kind, reason, segment_id: segmentId } }); }

  stop() { clearInterval(this.refreshTimer); }
}
