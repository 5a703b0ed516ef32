// Device check: asks for the microphone (and the camera, when the interview is recorded on
// video), shows a live input level and a camera preview, and enables "Start interview" once the
// microphone is delivering sound - and, when the template requires video, the camera works.
// #device-check's data-video: "off" (no camera asked for), "optional" or "required".

const $ = (id) => document.getElementById(id);
const VIDEO = $("device-check").dataset.video || "optional";
const CAMERA_REQUIRED =
  "This interview is recorded on video and needs a working camera. Allow the camera in your browser " +
  "(or connect one), then check again.";

const MESSAGES = {
  NotAllowedError: "Access to the microphone was blocked. Allow it in your browser, then check again.",
  SecurityError: "Access to the microphone was blocked. Allow it in your browser, then check again.",
  NotFoundError: "No microphone was found. Connect one, then check again.",
  NotReadableError: "Your microphone is in use by another application. Close it, then check again.",
  OverconstrainedError: "Your microphone could not be used. Try another one, then check again.",
};

let stream = null;
let audioContext = null;
let heardSound = false;
let cameraOn = false;

function say(message) {
  $("device-status").textContent = message;
}

function stopAll() {
  if (stream) stream.getTracks().forEach((track) => track.stop());
  if (audioContext) audioContext.close();
  stream = null;
  audioContext = null;
}

async function getStream() {
  if (VIDEO === "off") {
    return { media: await navigator.mediaDevices.getUserMedia({ audio: true }), camera: false };
  }
  // Camera is wanted for the recording; unless the template requires it, the interview can go
  // ahead on audio alone.
  try {
    return { media: await navigator.mediaDevices.getUserMedia({ audio: true, video: true }), camera: true };
  } catch (error) {
    if (error.name === "NotAllowedError" || error.name === "SecurityError") throw error;
    return { media: await navigator.mediaDevices.getUserMedia({ audio: true }), camera: false };
  }
}

function watchLevel(media) {
  audioContext = new AudioContext();
  const analyser = audioContext.createAnalyser();
  analyser.fftSize = 1024;
  audioContext.createMediaStreamSource(media).connect(analyser);
  const samples = new Float32Array(analyser.fftSize);
  const meter = $("mic-level");
  const tick = () => {
    if (!audioContext) return;
    analyser.getFloatTimeDomainData(samples);
    let sum = 0;
    for (const s of samples) sum += s * s;
    const level = Math.min(1, Math.sqrt(sum / samples.length) * 4);
    meter.value = level;
    meter.textContent = level.toFixed(2);
    if (!heardSound && level > 0.02) {
      heardSound = true;
      $("mic-state").textContent = "Microphone: working";
      if (VIDEO === "required" && !cameraOn) {
        say(`Your microphone works, but your camera does not. ${CAMERA_REQUIRED}`);
        $("device-help").hidden = false;
      } else {
        $("start-interview").disabled = false;
        say("Your microphone works. You can start the interview when you are ready.");
      }
    }
    requestAnimationFrame(tick);
  };
  tick();
}

async function check() {
  stopAll();
  heardSound = false;
  cameraOn = false;
  $("start-interview").disabled = true;
  $("device-help").hidden = true;
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    say("This browser cannot use a microphone here. Use a recent Chrome, Edge, Firefox or Safari.");
    $("device-help").hidden = false;
    return;
  }
  say(VIDEO === "off" ? "Asking for your microphone..." : "Asking for your microphone and camera...");
  try {
    const { media, camera } = await getStream();
    stream = media;
    cameraOn = camera;
    if (VIDEO !== "off") {
      $("camera-preview").srcObject = camera ? media : null;
      $("camera-state").textContent = camera
        ? "Camera: on"
        : VIDEO === "required"
          ? "Camera: not available (this interview needs one)"
          : "Camera: not available (audio only)";
    }
    $("mic-state").textContent = "Microphone: listening...";
    $("device-help").hidden = !(VIDEO === "required" && !camera);
    say(
      VIDEO === "required" && !camera
        ? CAMERA_REQUIRED
        : "Say a few words to test your microphone.",
    );
    watchLevel(media);
  } catch (error) {
    say(MESSAGES[error.name] || `Your microphone could not be started (${error.name}).`);
    $("mic-state").textContent = "Microphone: not available";
    $("device-help").hidden = false;
  }
}

$("check-devices").addEventListener("click", check);
window.addEventListener("pagehide", stopAll);
check();
