// One WebRTC connection to the interviewer: microphone out, interviewer audio in, and the
// "oai-events" data channel. The offer goes to our server, which holds the credentials.

export class Connection extends EventTarget {
  constructor({ api, microphone, audioElement }) {
    super();
    this.api = api;
    this.microphone = microphone;
    this.audioElement = audioElement;
    this.pc = null;
    this.channel = null;
  }

  get state() {
    return this.pc ? this.pc.connectionState : "new";
  }

  async open() {
    this.close();
    const pc = new RTCPeerConnection();
    this.pc = pc;
    pc.ontrack = (event) => {
      this.audioElement.srcObject = event.streams[0] || new MediaStream([event.track]);
    };
    for (const track of this.microphone.getAudioTracks()) pc.addTrack(track, this.microphone);
    const channel = pc.createDataChannel("oai-events");
    this.channel = channel;
    channel.onopen = () => this.dispatchEvent(new Event("open"));
    channel.onclose = () => this.pc === pc && this.dispatchEvent(new Event("lost"));
    channel.onmessage = (message) => {
      try {
        this.dispatchEvent(new CustomEvent("provider-event", { detail: JSON.parse(message.data) }));
      } catch (_) {
        /* ignore anything that is not JSON */
      }
    };
    pc.onconnectionstatechange = () => {
      this.dispatchEvent(new CustomEvent("state", { detail: pc.connectionState }));
      if (pc.connectionState === "failed" && this.pc === pc) this.dispatchEvent(new Event("lost"));
    };
    await pc.setLocalDescription(await pc.createOffer());
    await waitForIceGathering(pc, 2000);
    const answer = await this.api.sdp(pc.localDescription.sdp);
    if (this.pc !== pc) return; // closed meanwhile
    await pc.setRemoteDescription({ type: "answer", sdp: answer });
  }

  send(event) {
    if (this.channel && this.channel.readyState === "open") {
      this.channel.send(JSON.stringify(event));
      return true;
    }
    return false;
  }

  close() {
    const pc = this.pc;
    this.pc = null;
    this.channel = null;
    if (pc) pc.close();
  }
}

function waitForIceGathering(pc, timeoutMs) {
  // Send the offer with its host candidates; give up waiting for the rest after a moment.
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      pc.removeEventListener("icegatheringstatechange", check);
      resolve();
    };
    const check = () => pc.iceGatheringState === "complete" && done();
    pc.addEventListener("icegatheringstatechange", check);
    setTimeout(done, timeoutMs);
  });
}
