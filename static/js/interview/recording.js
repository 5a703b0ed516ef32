// The candidate's camera (with the microphone), recorded beside the interview and uploaded to
// the video provider while it runs. The interview never waits on it: a refused camera, a
// failed upload or a slow network only turn the indicator to "not recorded", and the session
// timeline says why (events/).
//
// Plain MediaRecorder and fetch, not @api.video/media-recorder: that library always posts to
// https://<apiHost>/upload, and the server already hands us the upload URL (the local fake is
// plain http). The protocol is api.video's progressive upload: multipart `file` + `videoId`,
// `Content-Range: part N/*`, the last part `part N/N`; every part but the last at least
// partBytes (5 MiB at api.video), so timeslices are gathered until a part is big enough.
// The upload token is short-lived: the page renews it (video/<segment>/token/) before it
// expires and when an upload is refused with 401.

const MIME_TYPES = ["video/webm;codecs=vp8,opus", "video/webm", "video/mp4"];
const QUICK_RETRY_MS = [1000, 3000]; // a failed part is tried again after these waits...
const SLOW_RETRY_MS = [5000, 10000, 20000, 30000]; // ...then kept and tried on (the last repeats)
const RENEW_BEFORE_MS = 60000; // renew the upload token this long before it expires
const MAX_BACKLOG_BYTES = 64 * 1024 * 1024; // more than this waiting to upload: too slow
const FINISH_WAIT_MS = 15000; // at the end, how long the page waits for the last parts
const REPORT_WAIT_MS = 3000; // and then for the timeline to hear what could not be uploaded

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Trying again cannot help: the video is gone, the request is wrong, the segment is closed.
const permanent = (reason) => /^(upload_http_4(?!08|29)\d\d|token_4(?!08|29)\d\d)$/.test(reason);

class UploadFailed extends Error {}

// One recording: one provider video, one MediaRecorder, its parts uploaded in order. A part
// that fails is kept and tried again (the parts after it wait in order) until it goes up, the
// backlog grows too large, or the page gives up at the end of the interview.
class Segment {
  constructor({ upload, stream, mimeType, timesliceMs, partBytes, renew, on }) {
    Object.assign(this, { upload, stream, mimeType, timesliceMs, partBytes, renew, on });
    this.id = upload.segment_id;
    this.pending = []; // timeslices not yet in a part; the newest is kept back (no empty last part)
    this.nextPart = 1;
    this.backlog = 0; // bytes handed to the queue and not yet uploaded
    this.queue = Promise.resolve();
    this.failed = false;
    this.done = false;
    this.delayed = false;
    this.lastReason = "";
  }

  start() {
    this.recorder = new MediaRecorder(this.stream, this.mimeType ? { mimeType: this.mimeType } : {});
    this.stopped = new Promise((resolve) => this.recorder.addEventListener("stop", resolve));
    this.recorder.addEventListener("dataavailable", (event) => this.take(event.data));
    this.recorder.start(this.timesliceMs);
  }

  take(blob) {
    if (this.failed || !blob.size) return;
    this.pending.push(blob);
    const held = this.pending.slice(0, -1).reduce((sum, b) => sum + b.size, 0);
    if (held >= this.partBytes) this.send(this.pending.splice(0, this.pending.length - 1), false);
  }

  send(blobs, last) {
    const part = new Blob(blobs, { type: this.mimeType || "video/webm" });
    const number = this.nextPart++;
    this.backlog += part.size;
    if (this.backlog > MAX_BACKLOG_BYTES) return this.fail(this.lastReason ? "upload_too_slow" : "upload_backlog");
    this.queue = this.queue.then(async () => {
      if (this.failed) return;
      try {
        await this.deliver(part, number, last);
        this.backlog -= part.size;
      } catch (error) {
        this.fail(error instanceof UploadFailed ? error.message : "upload_error");
      }
    });
  }

  // Uploads one part, trying again until it goes up; throws UploadFailed when it cannot.
  async deliver(part, number, last) {
    for (let attempt = 0; !this.failed; attempt++) {
      const reason = await this.post(part, number, last);
      if (reason === null) {
        if (this.delayed) {
          this.delayed = false;
          this.on.resumed(this, `part_${number}`);
        }
        return;
      }
      this.lastReason = reason;
      if (permanent(reason)) throw new UploadFailed(reason);
      if (attempt === QUICK_RETRY_MS.length && !this.delayed) {
        this.delayed = true;
        this.on.delayed(this, reason);
      }
      const waits = attempt < QUICK_RETRY_MS.length ? QUICK_RETRY_MS : SLOW_RETRY_MS;
      const index = attempt < QUICK_RETRY_MS.length ? attempt : attempt - QUICK_RETRY_MS.length;
      await sleep(waits[Math.min(index, waits.length - 1)]);
    }
  }

  // One upload of a part, renewing the token first when it is about to expire and once more
  // when the provider refuses it (401). Resolves to null when the part is up, else why not.
  async post(part, number, last) {
    const expiresAt = Date.parse(this.upload.expires_at || "");
    if (expiresAt && expiresAt - Date.now() < RENEW_BEFORE_MS) await this.renewToken().catch(() => {});
    for (let renewed = false; ; renewed = true) {
      const form = new FormData();
      form.append("videoId", this.upload.video_id);
      form.append("file", part, "recording.webm");
      let response;
      try {
        response = await fetch(this.upload.upload_url, {
          method: "POST",
          headers: { "Content-Range": `part ${number}/${last ? number : "*"}` },
          body: form,
        });
      } catch (_) {
        return "upload_network";
      }
      if (response.ok) return null;
      if (response.status !== 401 || renewed) return `upload_http_${response.status}`;
      try {
        await this.renewToken();
      } catch (error) {
        return `token_${error.status || "network"}`;
      }
    }
  }

  async renewToken() {
    const fresh = await this.renew(this.id);
    this.upload = { ...this.upload, ...fresh };
  }

  fail(reason) {
    if (this.failed || this.done) return;
    this.failed = true;
    this.pending = [];
    if (this.recorder?.state !== "inactive") this.recorder?.stop();
    this.reported = this.on.failed(this, reason);
  }

  // Stops recording and sends what is left as the last part; resolves once it is uploaded
  // (or the upload failed).
  async finish() {
    if (this.recorder && this.recorder.state !== "inactive") {
      this.recorder.stop();
      await this.stopped;
    }
    if (!this.failed && this.pending.length) this.send(this.pending.splice(0), true);
    await this.queue;
    this.done = !this.failed;
    await this.reported; // the timeline hears of a failure before the page moves on
    return this.done;
  }
}

export class Recording {
  // options: { enabled, required, timesliceMs, partBytes } from the page's config.
  constructor({ api, element, preview, options }) {
    Object.assign(this, { api, element, preview, options });
    this.text = element.querySelector("[data-text]");
    this.segment = null;
    this.camera = null;
    this.stream = null;
    this.ended = false;
    this.segments = []; // every segment started, the current one last
    this.finishing = []; // earlier segments still uploading
  }

  show(state, text) {
    this.element.dataset.state = state;
    this.text.textContent = text;
  }

  unavailable(reason, segmentId = null) {
    this.show(
      "off",
      this.options?.required
        ? "This interview asks for video, but it is not being recorded. Your interview continues; the recruiting team will see why."
        : "Video is not being recorded. Your interview continues.",
    );
    return this.api.event("video.unavailable", reason, segmentId).catch(() => {});
  }

  async start(microphone) {
    if (!this.options?.enabled) return this.show("off", "Video is not recorded for this interview.");
    if (!window.MediaRecorder || !navigator.mediaDevices?.getUserMedia) return this.unavailable("recorder_unsupported");
    try {
      this.camera = await navigator.mediaDevices.getUserMedia({
        video: { width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 15 } },
      });
    } catch (error) {
      const denied = error.name === "NotAllowedError" || error.name === "SecurityError";
      return this.unavailable(denied ? "camera_denied" : "camera_unavailable");
    }
    if (this.ended) return this.stopCamera();
    this.preview.srcObject = this.camera;
    this.stream = new MediaStream([...this.camera.getVideoTracks(), ...microphone.getAudioTracks()]);
    this.mimeType = MIME_TYPES.find((type) => MediaRecorder.isTypeSupported(type)) || "";
    await this.nextSegment();
  }

  // A new segment (at the start, and after each reconnection of the call); the previous one
  // finishes its upload in the background. One at a time: a segment is never dropped unseen.
  nextSegment() {
    this.opening = (this.opening || Promise.resolve()).then(() => this.openSegment());
    return this.opening;
  }

  async openSegment() {
    if (this.ended || !this.stream) return;
    const previous = this.segment;
    this.segment = null;
    if (previous) this.finishing.push(previous.finish());
    let upload;
    try {
      upload = await this.api.video();
    } catch (error) {
      return this.unavailable(error.code === "video_disabled" ? "video_disabled" : `segment_${error.status || "network"}`);
    }
    if (this.ended) {
      // The interview ended while the segment was being made: an empty segment stays behind
      // (the reconciliation marks it failed); say why.
      return this.api.event("video.unavailable", "ended_before_recording", upload.segment_id).catch(() => {});
    }
    const segment = new Segment({
      upload,
      stream: this.stream,
      mimeType: this.mimeType,
      timesliceMs: this.options.timesliceMs || 5000,
      partBytes: this.options.partBytes || 5 * 1024 * 1024,
      renew: (segmentId) => this.api.videoToken(segmentId),
      on: {
        delayed: (delayed, reason) => {
          if (delayed === this.segment) this.show("delayed", "Video upload delayed, trying again. Your interview continues.");
          this.api.event("video.upload_delayed", reason, delayed.id).catch(() => {});
        },
        resumed: (resumed, reason) => {
          if (resumed === this.segment) this.show("on", "Recording video");
          this.api.event("video.upload_resumed", reason, resumed.id).catch(() => {});
        },
        failed: (failed, reason) => {
          if (failed === this.segment) this.show("off", "Video could not be uploaded. Your interview continues.");
          return this.api.event("video.upload_failed", reason, failed.id).catch(() => {});
        },
      },
    });
    try {
      segment.start();
    } catch (_) {
      return this.unavailable("recorder_failed", upload.segment_id);
    }
    this.segment = segment;
    this.segments.push(segment);
    this.show("on", "Recording video");
  }

  // The interview ended: stop, and give the last parts a bounded time to upload. What is
  // still waiting then is lost with the page: the timeline hears why.
  async stop() {
    this.ended = true;
    const last = this.segment;
    this.segment = null;
    const uploads = [...this.finishing, ...(last ? [last.finish()] : [])];
    this.stopCamera();
    if (!uploads.length) return;
    if (last && !last.failed) this.show("saving", "Saving your video...");
    await Promise.race([Promise.allSettled(uploads), sleep(FINISH_WAIT_MS)]);
    const unfinished = this.segments.filter((segment) => !segment.done && !segment.failed);
    unfinished.forEach((segment) => segment.fail(segment.lastReason || "upload_unfinished"));
    const reports = this.segments.map((segment) => segment.reported);
    await Promise.race([Promise.allSettled(reports), sleep(REPORT_WAIT_MS)]);
  }

  stopCamera() {
    this.camera?.getTracks().forEach((track) => track.stop());
  }
}
