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

const MIME_TYPES = ["video/webm;codecs=vp8,opus", "video/webm", "video/mp4"];
const RETRY_DELAYS_MS = [1000, 3000]; // a failed part is tried again after these waits
const MAX_BACKLOG_BYTES = 64 * 1024 * 1024; // more than this waiting to upload: too slow
const FINISH_WAIT_MS = 15000; // at the end, how long the page waits for the last part

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

class UploadFailed extends Error {}

// One recording: one provider video, one MediaRecorder, its parts uploaded in order.
class Segment {
  constructor({ upload, stream, mimeType, timesliceMs, partBytes, onFailed }) {
    Object.assign(this, { upload, stream, mimeType, timesliceMs, partBytes, onFailed });
    this.id = upload.segment_id;
    this.pending = []; // timeslices not yet in a part; the newest is kept back (no empty last part)
    this.nextPart = 1;
    this.backlog = 0; // bytes handed to the queue and not yet uploaded
    this.queue = Promise.resolve();
    this.failed = false;
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
    if (this.backlog > MAX_BACKLOG_BYTES) return this.fail("upload_too_slow");
    this.queue = this.queue.then(async () => {
      if (this.failed) return;
      try {
        await this.post(part, number, last);
        this.backlog -= part.size;
      } catch (error) {
        this.fail(error instanceof UploadFailed ? error.message : "upload_error");
      }
    });
  }

  async post(part, number, last) {
    let reason = "upload_network";
    for (let attempt = 0; attempt <= RETRY_DELAYS_MS.length; attempt++) {
      if (attempt) await sleep(RETRY_DELAYS_MS[attempt - 1]);
      const form = new FormData();
      form.append("videoId", this.upload.video_id);
      form.append("file", part, "recording.webm");
      try {
        const response = await fetch(this.upload.upload_url, {
          method: "POST",
          headers: { "Content-Range": `part ${number}/${last ? number : "*"}` },
          body: form,
        });
        if (response.ok) return;
        reason = `upload_http_${response.status}`;
        if (response.status === 401 || response.status === 404) break; // retrying cannot help
      } catch (_) {
        reason = "upload_network";
      }
    }
    throw new UploadFailed(reason);
  }

  fail(reason) {
    if (this.failed) return;
    this.failed = true;
    this.pending = [];
    if (this.recorder?.state !== "inactive") this.recorder?.stop();
    this.reported = this.onFailed(this, reason);
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
    await this.reported; // the timeline hears of a failure before the page moves on
    return !this.failed;
  }
}

export class Recording {
  // options: { enabled, timesliceMs, partBytes } from the page's config.
  constructor({ api, element, preview, options }) {
    Object.assign(this, { api, element, preview, options });
    this.text = element.querySelector("[data-text]");
    this.segment = null;
    this.camera = null;
    this.stream = null;
    this.ended = false;
    this.finishing = []; // earlier segments still uploading
  }

  show(state, text) {
    this.element.dataset.state = state;
    this.text.textContent = text;
  }

  unavailable(reason, segmentId = null) {
    this.show("off", "Video is not being recorded. Your interview continues.");
    this.api.event("video.unavailable", reason, segmentId).catch(() => {});
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
      onFailed: (failed, reason) => {
        if (failed === this.segment) this.show("off", "Video could not be uploaded. Your interview continues.");
        return this.api.event("video.upload_failed", reason, failed.id).catch(() => {});
      },
    });
    try {
      segment.start();
    } catch (_) {
      return this.unavailable("recorder_failed", upload.segment_id);
    }
    this.segment = segment;
    this.show("on", "Recording video");
  }

  // The interview ended: stop, and give the last parts a bounded time to upload.
  async stop() {
    this.ended = true;
    const last = this.segment;
    this.segment = null;
    const uploads = [...this.finishing, ...(last ? [last.finish()] : [])];
    this.stopCamera();
    if (!uploads.length) return;
    if (last && !last.failed) this.show("saving", "Saving your video...");
    await Promise.race([Promise.allSettled(uploads), sleep(FINISH_WAIT_MS)]);
  }

  stopCamera() {
    this.camera?.getTracks().forEach((track) => track.stop());
  }
}
